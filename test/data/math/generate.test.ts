import assert from "node:assert/strict";
import { test } from "node:test";
import { extractAnswer } from "../../../src/data/math/answer.js";
import { Draw } from "../../../src/data/math/draw.js";
import { generateMathSet, MAX_REPHRASE, type MathOptions } from "../../../src/data/math/generate.js";
import { drawProblem, solutionText, wordingCount } from "../../../src/data/math/problem.js";
import { toRecord } from "../../../src/data/math/record.js";
import { formatEquation, isWellFormed, runPlan } from "../../../src/data/math/steps.js";
import { constant, given, LEVELS, MIN_WORDINGS, remainder, step } from "../../../src/data/math/template.js";
import { TEMPLATES } from "../../../src/data/math/templates/index.js";
import { UsageError } from "../../../src/errors.js";
import { checkRecord, parseSteps } from "./checkRecord.js";

const base: MathOptions = { n: 400, seed: 7, levels: [1, 2, 3, 4], rephrase: 3, testFraction: 0.1 };
const set = generateMathSet(base);
const all = [...set.train, ...set.test];

test("the same seed gives the same set; another seed another", () => {
  assert.deepEqual(generateMathSet(base), set);
  const other = generateMathSet({ ...base, seed: 8 });
  assert.notDeepEqual(
    other.train.map((r) => r.key),
    set.train.map((r) => r.key),
  );
  // --rephrase and --test-fraction change wordings and the split, never which problems are drawn.
  const once = generateMathSet({ ...base, rephrase: 1, testFraction: 0.2 });
  const keys = (s: typeof set) => new Set([...s.train, ...s.test].map((r) => r.key));
  assert.deepEqual(keys(once), keys(set));
});

test("every answer is right: each step's arithmetic redone, the answer where the steps lead", () => {
  assert.ok(all.length > 1000);
  for (const r of all) {
    const steps = checkRecord(r);
    assert.equal(extractAnswer(r.messages[1].content), r.answer);
    // The record's steps are the ones written out.
    assert.deepEqual(
      steps,
      // An exact division's remainder (0) is a field of the step but not written in its line.
      r.steps.map(({ remainder, ...s }) => (remainder ? { ...s, remainder } : s)),
      r.id,
    );
  }
});

test("levels: level k has exactly k steps, and counts are as asked", () => {
  for (const r of all) assert.equal(r.steps.length, r.level, `${r.id}: ${r.template}`);
  for (const l of LEVELS) {
    assert.equal(set.counts.train.problems[l] + set.counts.test.problems[l], 100);
    assert.equal(set.counts.test.problems[l], 10);
    assert.equal(set.counts.train.records[l], 90 * 3);
  }
  const some = generateMathSet({ ...base, n: 31, levels: [1, 3] });
  const levels = new Set([...some.train, ...some.test].map((r) => r.level));
  assert.deepEqual([...levels].sort(), [1, 3]);
  assert.equal(some.counts.train.problems[1] + some.counts.test.problems[1], 16);
  assert.equal(some.counts.train.problems[3] + some.counts.test.problems[3], 15);
  for (const r of generateMathSet({ ...base, levels: [2] }).train) assert.equal(r.level, 2);
});

test("train and test share no problem: not by key, not by question text", () => {
  const trainKeys = new Set(set.train.map((r) => r.key));
  const trainQuestions = new Set(set.train.map((r) => r.messages[0].content));
  assert.equal(set.test.length, 40);
  for (const r of set.test) {
    assert.ok(!trainKeys.has(r.key), r.key);
    assert.ok(!trainQuestions.has(r.messages[0].content), r.messages[0].content);
  }
  // Within test, one wording per problem and distinct problems.
  assert.equal(new Set(set.test.map((r) => r.key)).size, set.test.length);
  // Ids are unique, and a problem's id is the same in all its records.
  assert.equal(new Set(all.map((r) => r.id)).size, all.length);
  const byProblem = new Map<string, string>();
  for (const r of all) {
    assert.equal(byProblem.get(r.problem_id) ?? r.key, r.key);
    byProblem.set(r.problem_id, r.key);
  }
});

test("rephrasings are distinct wordings of one problem, all in train", () => {
  const groups = new Map<string, typeof set.train>();
  for (const r of set.train) groups.set(r.key, [...(groups.get(r.key) ?? []), r]);
  assert.equal(groups.size, 360);
  for (const [key, rs] of groups) {
    assert.equal(rs.length, 3, key);
    assert.equal(new Set(rs.map((r) => r.messages[0].content)).size, 3, `distinct questions for ${key}`);
    assert.equal(new Set(rs.map((r) => r.wording)).size, 3);
    // Same problem: same numbers, answer and solution.
    assert.equal(new Set(rs.map((r) => r.answer)).size, 1);
    assert.equal(new Set(rs.map((r) => r.messages[1].content)).size, 1);
  }
});

test("every template makes well-formed problems in every wording, with enough wordings", () => {
  for (const level of LEVELS) {
    assert.ok(TEMPLATES[level].length >= 8, `level ${level} has ${TEMPLATES[level].length} templates`);
    for (const t of TEMPLATES[level]) {
      assert.equal(t.level, level, t.name);
      assert.equal(t.steps.length, level, t.name);
      assert.ok(t.wordings.length >= MIN_WORDINGS, t.name);
      const d = Draw.named("template-test", t.name);
      for (let i = 0; i < 20; i++) {
        const p = drawProblem(t, d);
        const questions = new Set<string>();
        for (let w = 0; w < wordingCount(t); w++) {
          const r = toRecord(p, "L0-000000", w);
          checkRecord(r);
          assert.doesNotMatch(r.messages[0].content + r.messages[1].content, /undefined|NaN|\$\$| {2}/);
          questions.add(r.messages[0].content);
        }
        assert.equal(questions.size, wordingCount(t), `${t.name}: every wording differs`);
      }
    }
  }
  assert.equal(MAX_REPHRASE, 2 * MIN_WORDINGS);
  const names = LEVELS.flatMap((l) => TEMPLATES[l].map((t) => t.name));
  assert.equal(new Set(names).size, names.length, "template names are unique");
});

test("a slip at one step carries through the later steps and the answer", () => {
  const t = TEMPLATES[3].find((x) => x.name === "shopping.two_kinds")!;
  const p = drawProblem(t, Draw.named("slip"));
  const slipped = runPlan(t.steps, p.givens, new Map([[0, p.steps[0]!.result + 1]]));
  assert.equal(slipped[0]!.result, p.steps[0]!.result + 1);
  assert.equal(slipped[2]!.result, p.steps[2]!.result + 1);
  const text = solutionText(p, slipped);
  assert.equal(extractAnswer(text), String(p.answer + 1));
  // The slipped line reads as written on paper (its arithmetic is wrong); the later ones are right given it.
  const [first, ...rest] = parseSteps(text);
  assert.notEqual(first!.a * first!.b, first!.result);
  for (const s of rest) if (s.op === "+") assert.equal(s.a + s.b, s.result);
});

test("a plan reads numbers, constants, and earlier results and remainders", () => {
  const plan = [
    { op: "/", a: given("eggs"), b: constant(12), withRemainder: true },
    { op: "*", a: remainder(0), b: given("price") },
    { op: "+", a: step(0), b: step(1) },
  ] as const;
  const steps = runPlan(plan, { eggs: 50, price: 3 });
  assert.deepEqual(steps, [
    { op: "/", a: 50, b: 12, result: 4, remainder: 2 },
    { op: "*", a: 2, b: 3, result: 6 },
    { op: "+", a: 4, b: 6, result: 10 },
  ]);
  assert.ok(isWellFormed(plan, steps));
  assert.ok(!isWellFormed(plan, runPlan(plan, { eggs: 48, price: 3 })), "a remainder step with nothing left");
  assert.ok(!isWellFormed(plan.slice(1), runPlan([{ op: "-", a: constant(1), b: constant(2) }], {})));
  assert.equal(formatEquation(steps[0]!), "50 / 12 = 4 remainder 2");
  assert.equal(formatEquation({ op: "%", a: 20, b: 150, result: 30 }), "20% of 150 = 30");
});

test("options out of range are usage errors", () => {
  assert.throws(() => generateMathSet({ ...base, n: 0 }), UsageError);
  assert.throws(() => generateMathSet({ ...base, levels: [] }), UsageError);
  assert.throws(() => generateMathSet({ ...base, rephrase: 0 }), UsageError);
  assert.throws(
    () => generateMathSet({ ...base, rephrase: MAX_REPHRASE + 1 }),
    /--rephrase 7: must be 1 to 6/,
  );
  assert.throws(() => generateMathSet({ ...base, testFraction: 1 }), UsageError);
  assert.throws(() => generateMathSet({ ...base, testFraction: -0.1 }), UsageError);
  // A level with fewer distinct problems than asked says so instead of looping.
  assert.throws(() => generateMathSet({ ...base, n: 100_000, levels: [1] }), /too few distinct problems/);
});
