import assert from "node:assert/strict";
import { test } from "node:test";
import { Draw } from "../../../src/data/math/draw.js";
import { generateMathSet, type MathOptions } from "../../../src/data/math/generate.js";
import { preferencePair } from "../../../src/data/math/pair.js";
import { drawProblem, wordingCount } from "../../../src/data/math/problem.js";
import { toRecord, type MathRecord } from "../../../src/data/math/record.js";
import { SLIP_KINDS, slipsOf, withoutCarry } from "../../../src/data/math/slips.js";
import { runPlan } from "../../../src/data/math/steps.js";
import { given, LEVELS, step } from "../../../src/data/math/template.js";
import { TEMPLATES } from "../../../src/data/math/templates/index.js";
import { checkPair, noCarry } from "./checkPair.js";

const base: MathOptions = { n: 600, seed: 11, levels: [1, 2, 3, 4], rephrase: 2, testFraction: 0.1 };
const plain = generateMathSet(base);
const set = generateMathSet({ ...base, preference: true });
const pairs = set.pairs!;

test("--preference leaves the records as they are; the pairs follow from the seed", () => {
  assert.equal(plain.pairs, undefined);
  assert.deepEqual(set.train, plain.train);
  assert.deepEqual(set.test, plain.test);
  for (const split of ["train", "test"] as const) {
    assert.deepEqual(set.counts[split].problems, plain.counts[split].problems);
    assert.deepEqual(set.counts[split].records, plain.counts[split].records);
  }
  assert.deepEqual(generateMathSet({ ...base, preference: true }).pairs, pairs);
  const other = generateMathSet({ ...base, seed: 12, preference: true }).pairs!;
  assert.notDeepEqual(
    other.train.map((p) => p.rejected),
    pairs.train.map((p) => p.rejected),
  );
});

test("every pair: chosen is the record's solution, rejected has exactly the slip it names", () => {
  const byId = new Map([...set.train, ...set.test].map((r) => [r.id, r]));
  for (const p of [...pairs.train, ...pairs.test]) checkPair(p, byId.get(p.id)!);
});

test("one pair per record, in the records' order, counted per level and kind", () => {
  for (const split of ["train", "test"] as const) {
    // Every problem drawn here admits a slip, so no record goes without a pair.
    assert.deepEqual(
      pairs[split].map((p) => p.id),
      set[split].map((r) => r.id),
    );
    const c = set.counts[split];
    assert.deepEqual(c.pairs, c.records);
    const kinds = SLIP_KINDS.map((k) => pairs[split].filter((p) => p.slip === k).length);
    assert.deepEqual(
      kinds,
      SLIP_KINDS.map((k) => c.slips![k]),
    );
  }
  // All three kinds occur, none rare: the kind is drawn first, among those a problem allows.
  for (const k of SLIP_KINDS) {
    const share = pairs.train.filter((p) => p.slip === k).length / pairs.train.length;
    assert.ok(share > 0.1, `${k}: ${share}`);
    assert.ok(
      pairs.test.some((p) => p.slip === k),
      `${k} in test`,
    );
  }
  assert.ok(new Set(pairs.train.map((p) => p.slip_step)).size === 4, "slips at every step position");
});

test("pairs-train comes from train problems only, pairs-test from test problems only", () => {
  const keyOf = new Map([...set.train, ...set.test].map((r) => [r.id, r.key]));
  const keys = (rs: readonly MathRecord[]) => new Set(rs.map((r) => r.key));
  const trainKeys = keys(set.train);
  const testKeys = keys(set.test);
  const pairKeys = (split: "train" | "test") => new Set(pairs[split].map((p) => keyOf.get(p.id)!));
  for (const k of pairKeys("train")) assert.ok(trainKeys.has(k) && !testKeys.has(k), k);
  for (const k of pairKeys("test")) assert.ok(testKeys.has(k) && !trainKeys.has(k), k);
  const ids = (split: "train" | "test") => new Set(pairs[split].map((p) => p.problem_id));
  for (const id of ids("test")) assert.ok(!ids("train").has(id), id);
});

test("every template and wording makes pairs that check out", () => {
  for (const level of LEVELS) {
    for (const t of TEMPLATES[level]) {
      const d = Draw.named("pair-test", t.name);
      for (let i = 0; i < 15; i++) {
        const p = drawProblem(t, d);
        assert.ok(slipsOf(t, p.givens).length > 0, `${t.name}: some slip fits ${p.key}`);
        for (let w = 0; w < wordingCount(t); w++) {
          const record = toRecord(p, "L0-000000", w);
          const pair = preferencePair(p, record, i);
          assert.ok(pair, `${t.name} ${p.key}`);
          checkPair(pair, record);
          assert.doesNotMatch(pair.rejected[0].content, /undefined|NaN|-\d/);
        }
      }
    }
  }
});

test("a carry dropped in a column: the digit-wise result, only where a carry happens", () => {
  const cases: [string, number, number, number | undefined][] = [
    ["+", 17, 26, 33],
    ["+", 87, 26, 103],
    ["+", 95, 6, 91],
    ["+", 12, 34, 46],
    ["-", 43, 17, 36],
    ["-", 100, 37, 173],
    ["-", 360, 270, 190],
    ["*", 17, 3, 31],
    ["*", 3, 57, 151],
    ["*", 39, 2, 68],
    ["*", 7, 8, 56],
    ["*", 17, 23, undefined],
    ["/", 48, 6, undefined],
    ["-", 5, 7, undefined],
  ];
  for (const [op, a, b, want] of cases) {
    assert.equal(withoutCarry(op as "+", a, b), want, `${a} ${op} ${b}`);
    if (want !== undefined) assert.equal(noCarry(op, a, b), want, `test's own ${a} ${op} ${b}`);
  }
});

test("a step override may change the operation and remainder, and later steps read it", () => {
  const plan = [
    { op: "/", a: given("eggs"), b: given("box"), withRemainder: true },
    { op: "+", a: step(0), b: given("eggs") },
  ] as const;
  const steps = runPlan(plan, { eggs: 50, box: 12 }, new Map([[0, { op: "*" as const, result: 600 }]]));
  assert.deepEqual(steps, [
    { op: "*", a: 50, b: 12, result: 600 },
    { op: "+", a: 600, b: 50, result: 650 },
  ]);
});
