import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { MathRecord } from "../../../src/data/math/record.js";
import { readJson, runCli, tempDir } from "../../helpers.js";
import type { PreferencePair } from "../../../src/data/math/pair.js";
import { checkPair } from "./checkPair.js";
import { checkRecord } from "./checkRecord.js";

const root = tempDir("deepen-math-");
const files = (dir: string) =>
  ["train.jsonl", "test.jsonl", "info.json"].map((f) => readFileSync(join(dir, f)));
const lines = <T>(file: string): T[] =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as T);
const records = (file: string) => lines<MathRecord>(file);

/** One line on stderr with the given status, and nothing written. */
function refused(args: string[], code: number, re: RegExp): void {
  const out = join(root, `never-${Math.random().toString(36).slice(2)}`);
  const r = runCli(["data", "math", "-o", out, ...args]);
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.ok(!existsSync(out), "nothing written");
  assert.deepEqual(
    readdirSync(root).filter((n) => n.includes("deepen-tmp")),
    [],
    "no temporary folder left",
  );
}

test("data math writes train, test and info.json, the same for the same seed", () => {
  const a = join(root, "a");
  const r = runCli(["data", "math", "-o", a, "--n", "200", "--seed", "3", "--rephrase", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^wrote .*: train L1 45, L2 45, L3 45, L4 45 problems in 360 records, test L1 5, L2 5, L3 5, L4 5 \(\d+\.\d s\)\n$/,
  );
  const train = records(join(a, "train.jsonl"));
  const test = records(join(a, "test.jsonl"));
  assert.equal(train.length, 360);
  assert.equal(test.length, 20);
  for (const rec of [...train, ...test]) checkRecord(rec);
  const info = readJson(join(a, "info.json"));
  assert.deepEqual(info.settings, { n: 200, seed: 3, levels: [1, 2, 3, 4], rephrase: 2, test_fraction: 0.1 });
  assert.deepEqual((info.counts as { test: { problems: unknown } }).test.problems, {
    1: 5,
    2: 5,
    3: 5,
    4: 5,
  });

  const b = join(root, "b");
  assert.equal(runCli(["data", "math", "-o", b, "--n", "200", "--seed", "3", "--rephrase", "2"]).code, 0);
  assert.deepEqual(files(b), files(a));
  const c = join(root, "c");
  assert.equal(runCli(["data", "math", "-o", c, "--n", "200", "--seed", "4", "--rephrase", "2"]).code, 0);
  assert.notDeepEqual(files(c)[0], files(a)[0]);

  // An existing output needs --force, and is then replaced whole.
  const before = files(a);
  const again = runCli(["data", "math", "-o", a, "--n", "50"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^deepen: output .* exists; pass --force to replace it\n$/);
  assert.deepEqual(files(a), before);
  const replaced = runCli(["data", "math", "-o", a, "--n", "50", "--levels", "2", "--force", "--json"]);
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.deepEqual(JSON.parse(replaced.stdout).train.problems, { 1: 0, 2: 45, 3: 0, 4: 0 });
  for (const rec of records(join(a, "train.jsonl"))) assert.equal(rec.level, 2);
});

test("data math --preference adds pairs-train and pairs-test, and the same records", () => {
  const plain = join(root, "plain");
  const pref = join(root, "pref");
  const args = ["--n", "120", "--seed", "5", "--rephrase", "2"];
  assert.equal(runCli(["data", "math", "-o", plain, ...args]).code, 0);
  assert.ok(!existsSync(join(plain, "pairs-train.jsonl")), "no pairs without --preference");
  const r = runCli(["data", "math", "-o", pref, ...args, "--preference"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^wrote .*: train L1 27, L2 27, L3 27, L4 27 problems in 216 records, test L1 3, L2 3, L3 3, L4 3; 216 train and 12 test preference pairs \(\d+ dropped_carry, \d+ swapped_operation, \d+ off_by_one\) \(\d+\.\d s\)\n$/,
  );
  for (const f of ["train.jsonl", "test.jsonl"])
    assert.deepEqual(readFileSync(join(pref, f)), readFileSync(join(plain, f)), `${f} is unchanged`);

  const byId = new Map(
    [...records(join(pref, "train.jsonl")), ...records(join(pref, "test.jsonl"))].map((x) => [x.id, x]),
  );
  const testIds = new Set(records(join(pref, "test.jsonl")).map((x) => x.id));
  const trainPairs = lines<PreferencePair>(join(pref, "pairs-train.jsonl"));
  const testPairs = lines<PreferencePair>(join(pref, "pairs-test.jsonl"));
  assert.equal(trainPairs.length, 216);
  assert.equal(testPairs.length, 12);
  for (const p of trainPairs) assert.ok(!testIds.has(p.id), `${p.id} is a train record`);
  for (const p of testPairs) assert.ok(testIds.has(p.id), `${p.id} is a test record`);
  for (const p of [...trainPairs, ...testPairs]) checkPair(p, byId.get(p.id)!);

  const info = readJson(join(pref, "info.json"));
  assert.equal((info.settings as { preference: boolean }).preference, true);
  assert.equal((info.files as { pairs_train: string }).pairs_train, "pairs-train.jsonl");
  const counts = info.counts as { test: { pairs: Record<string, number> } };
  assert.deepEqual(counts.test.pairs, { 1: 3, 2: 3, 3: 3, 4: 3 });
  assert.ok(!("preference" in (readJson(join(plain, "info.json")).settings as object)));

  const json = runCli(["data", "math", "-o", pref, ...args, "--preference", "--force", "--json"]);
  const out = JSON.parse(json.stdout) as {
    train: { pairs: Record<string, number>; slips: Record<string, number> };
  };
  assert.deepEqual(out.train.pairs, { 1: 54, 2: 54, 3: 54, 4: 54 });
  assert.equal(
    Object.values(out.train.slips).reduce((a, b) => a + b, 0),
    216,
  );
  assert.deepEqual(
    readFileSync(join(pref, "pairs-train.jsonl")),
    Buffer.from(trainPairs.map((p) => JSON.stringify(p) + "\n").join("")),
  );
});

test("bad options are one-line usage errors and write nothing", () => {
  refused(["--levels", "5"], 2, /^deepen: --levels 5: levels are 1, 2, 3, 4\n$/);
  refused(["--levels", "x"], 2, /--levels x: levels are 1, 2, 3, 4/);
  refused(["--n", "0"], 2, /^deepen: --n 0: must be at least 1\n$/);
  refused(["--n", "ten"], 2, /--n ten: expected a non-negative integer/);
  refused(["--rephrase", "9"], 2, /--rephrase 9: must be 1 to 6/);
  refused(["--test-fraction", "1"], 2, /--test-fraction 1: must be at least 0 and less than 1/);
  refused(["--seed", "-1"], 2, /--seed -1: expected a non-negative integer/);
});
