import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { PreferenceFormat } from "../../../src/data/instruct/preference.js";
import { tempDir } from "../../helpers.js";
import { column, listOfStruct, string, writeParquet } from "./parquetWriter.js";
import { pairOf, PREFERENCE_SAMPLES, readPairs } from "./preferenceSamples.js";
import { bot, jsonl, user, usageError, writeGzip, writeJsonArray, writeJsonl } from "./samples.js";

const root = tempDir("deepen-preference-files-");
let count = 0;
const fresh = () => join(root, `d${count++}`);

for (const [name, sample] of Object.entries(PREFERENCE_SAMPLES)) {
  test(`the ${name} shape as a JSON array, .jsonl.gz and .json.gz reads as its JSONL`, async () => {
    const dir = fresh();
    const array = writeJsonArray(dir, "a.json", sample.records);
    const gz = writeGzip(dir, "l.jsonl.gz", jsonl(sample.records));
    const arrayGz = writeGzip(dir, "a.json.gz", JSON.stringify(sample.records));
    for (const path of [array, gz, arrayGz]) {
      const got = await readPairs([path]);
      assert.deepEqual(got.map(pairOf), sample.expected, path);
      assert.deepEqual(
        got.map((p) => p.record),
        sample.records,
      );
    }
    assert.deepEqual(
      (await readPairs([array])).map((p) => p.where),
      sample.records.map((_, i) => `${array}[${i}]`),
    );
  });
}

const messages = (name: string) => listOfStruct(name, "role", "content");
const double = (name: string) => [{ name, type: "DOUBLE" as const, repetition_type: "OPTIONAL" as const }];

test("ultrafeedback as Parquet (list<struct> conversations, a prompt string, scores) reads as its JSONL", async () => {
  const dir = fresh();
  const { records, expected } = PREFERENCE_SAMPLES.ultrafeedback!;
  const schemas = {
    prompt: [string("prompt")],
    prompt_id: [string("prompt_id")],
    chosen: messages("chosen"),
    rejected: messages("rejected"),
    messages: messages("messages"),
    score_chosen: double("score_chosen"),
    score_rejected: double("score_rejected"),
  };
  const names = Object.keys(schemas);
  const path = writeParquet(
    dir,
    "train_prefs.parquet",
    Object.values(schemas).map((schema, i) => ({ data: column(records, names[i]!), schema })),
    names,
  );
  const told: PreferenceFormat[] = [];
  const got = await readPairs([path], { onFile: (_, f) => told.push(f) });
  assert.deepEqual(told, ["conversations-pair"]);
  assert.deepEqual(got.map(pairOf), expected);
  assert.deepEqual(got.map(pairOf), (await readPairs([writeJsonl(dir, "u.jsonl", records)])).map(pairOf));
  assert.deepEqual(
    got.map((p) => p.where),
    [`${path} row 0`, `${path} row 1`],
  );
  assert.equal(got[1]?.record.score_rejected, 1);
});

test("Orca pairs and string pairs as Parquet read as their JSONL", async () => {
  for (const name of ["orca", "strings"]) {
    const { records, expected } = PREFERENCE_SAMPLES[name]!;
    const names = Object.keys(records[0]!).filter((k) => typeof records[0]![k] === "string");
    const path = writeParquet(
      fresh(),
      `${name}.parquet`,
      names.map((n) => ({ data: column(records, n), schema: [string(n)] })),
      names,
    );
    assert.deepEqual((await readPairs([path])).map(pairOf), expected);
  }
});

test("TRL's conversational form as Parquet (prompt, chosen and rejected list<struct> columns) reads", async () => {
  const { records, expected } = PREFERENCE_SAMPLES.conversational!;
  const lists = records.slice(0, 2);
  const names = ["prompt", "chosen", "rejected"];
  const path = writeParquet(
    fresh(),
    "math.parquet",
    names.map((n) => ({ data: column(lists, n), schema: messages(n) })),
    names,
  );
  assert.deepEqual((await readPairs([path])).map(pairOf), expected.slice(0, 2));
});

test("a bad Parquet row names its row; skipBad skips it; columns of no shape are refused", async () => {
  const dir = fresh();
  const names = ["chosen", "rejected"];
  const rows = [
    { chosen: [user("q"), bot("a")], rejected: [user("q"), bot("b")] },
    { chosen: [user("q"), bot("a")], rejected: [user("other"), bot("b")] },
    { chosen: [user("q"), bot("")], rejected: [user("q"), bot("b")] },
    { chosen: [user("r"), bot("c")], rejected: [user("r"), bot("d")] },
  ];
  const path = writeParquet(
    dir,
    "bad.parquet",
    names.map((n) => ({ data: column(rows, n), schema: messages(n) })),
    names,
  );
  await usageError(readPairs([path]), /bad\.parquet row 1: chosen and rejected have different prompts/);
  const bad: string[] = [];
  const got = await readPairs([path], { skipBad: true, onBad: (w, r) => bad.push(`${w}: ${r}`) });
  assert.deepEqual(
    got.map((p) => p.where),
    [`${path} row 0`, `${path} row 3`],
  );
  assert.deepEqual(bad, [
    `${path} row 1: chosen and rejected have different prompts`,
    `${path} row 2: the chosen response is empty`,
  ]);
  const sft = writeParquet(
    dir,
    "sft.parquet",
    [{ data: [[user("q"), bot("a")]], schema: messages("messages") }],
    ["messages"],
  );
  await usageError(
    readPairs([sft]),
    /sft\.parquet: no columns of a known shape; it has messages \(accepted: preference \(prompt\+chosen\+rejected\)/,
  );
  await usageError(
    readPairs([path], { format: "orca-pairs" }),
    /bad\.parquet: the orca-pairs shape needs column question; it has chosen, rejected/,
  );
});

test("a folder is read file by file in path order, each file's shape its own", async () => {
  const dir = fresh();
  writeJsonl(join(dir, "a"), "orca.jsonl", PREFERENCE_SAMPLES.orca!.records);
  writeJsonArray(join(dir, "b"), "strings.json", PREFERENCE_SAMPLES.strings!.records);
  writeJsonl(dir, "notes.txt", []);
  const told: string[] = [];
  const skipped: string[] = [];
  const got = await readPairs([dir], { onFile: (_, f) => told.push(f), onSkip: (p) => skipped.push(p) });
  assert.deepEqual(told, ["orca-pairs", "preference"]);
  assert.deepEqual(got.map(pairOf), [
    ...PREFERENCE_SAMPLES.orca!.expected,
    ...PREFERENCE_SAMPLES.strings!.expected,
  ]);
  assert.equal(skipped.length, 1);
  await usageError(readPairs(["embedded:brown"]), /not preference data/);
  await usageError(readPairs([]), /no input files or folders given/);
});
