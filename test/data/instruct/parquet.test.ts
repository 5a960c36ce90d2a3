import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import type { InstructionFormat } from "../../../src/data/instruct/formats.js";
import { tempDir } from "../../helpers.js";
import { column, listOfStruct, string, writeParquet } from "./parquetWriter.js";
import { bot, SAMPLES, sys, user, writeJsonl, writeText, read, content, usageError } from "./samples.js";

const root = tempDir("deepen-instruct-parquet-");
let count = 0;
const fresh = () => join(root, `d${count++}`);

test("a Parquet messages column (list of structs) reads as its JSONL twin, extra columns as JSON has them", async () => {
  const dir = fresh();
  const { records, expected } = SAMPLES.messages!;
  const path = writeParquet(
    dir,
    "m.parquet",
    [
      { data: column(records, "messages"), schema: listOfStruct("messages", "role", "content") },
      { data: [3n, null], schema: [{ name: "level", type: "INT64", repetition_type: "OPTIONAL" }] },
      { data: [null, "Paris"], schema: [string("answer")] },
    ],
    ["messages", "level", "answer"],
  );
  const told: InstructionFormat[] = [];
  const got = await read([path], { onFile: (_, f) => told.push(f) });
  assert.deepEqual(told, ["messages"]);
  assert.deepEqual(got.map(content), expected);
  assert.deepEqual((await read([writeJsonl(dir, "m.jsonl", records)])).map(content), got.map(content));
  assert.deepEqual(
    got.map((e) => e.where),
    [`${path} row 0`, `${path} row 1`],
  );
  // INT64 comes back as a number, not a BigInt; the messages as plain arrays of plain objects.
  assert.equal(got[0]?.record.level, 3);
  assert.equal(got[1]?.record.answer, "Paris");
  assert.ok(Array.isArray(got[0]?.record.messages));
  assert.doesNotThrow(() => JSON.stringify(got.map((e) => e.record)));
});

test("a Parquet ShareGPT column maps roles as JSONL does", async () => {
  const { records, expected } = SAMPLES.sharegpt!;
  const path = writeParquet(
    fresh(),
    "s.parquet",
    [{ data: column(records, "conversations"), schema: listOfStruct("conversations", "from", "value") }],
    ["conversations"],
  );
  assert.deepEqual((await read([path])).map(content), expected);
});

test("Parquet in the Alpaca shape (a null input) reads as its JSONL twin", async () => {
  const dir = fresh();
  const { records, expected } = SAMPLES.alpaca!;
  const names = ["instruction", "input", "output"];
  const path = writeParquet(
    dir,
    "a.parquet",
    names.map((n) => ({ data: column(records, n), schema: [string(n)] })),
    names,
  );
  const got = await read([path]);
  assert.deepEqual(got.map(content), expected);
  assert.deepEqual((await read([writeJsonl(dir, "a.jsonl", records)])).map(content), expected);
  assert.equal(got[2]?.record.input, null);
});

test("a Parquet file compressed with GZIP (a codec hyparquet reads only with hyparquet-compressors) reads", async () => {
  const { records, expected } = SAMPLES.messages!;
  const path = writeParquet(
    fresh(),
    "gz.parquet",
    [{ data: column(records, "messages"), schema: listOfStruct("messages", "role", "content") }],
    ["messages"],
    undefined,
    true,
  );
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
  assert.equal(metadata.row_groups[0]?.columns[0]?.meta_data?.codec, "GZIP");
  assert.deepEqual((await read([path])).map(content), expected);
});

test("a JSON-typed Parquet column of messages reads as a list column does", async () => {
  const { records, expected } = SAMPLES.messages!;
  const path = writeParquet(
    fresh(),
    "j.parquet",
    [
      {
        data: column(records, "messages"),
        schema: [
          { name: "messages", type: "BYTE_ARRAY", converted_type: "JSON", repetition_type: "OPTIONAL" },
        ],
      },
    ],
    ["messages"],
  );
  assert.deepEqual((await read([path])).map(content), expected);
});

test("a Parquet file of many row groups yields every row in order", async () => {
  const dir = fresh();
  const n = 23;
  const instruction = Array.from({ length: n }, (_, i) => `do ${i}`);
  const output = Array.from({ length: n }, (_, i) => `done ${i}`);
  const path = writeParquet(
    dir,
    "big.parquet",
    [
      { data: instruction, schema: [string("instruction")] },
      { data: output, schema: [string("output")] },
    ],
    ["instruction", "output"],
    5,
  );
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
  assert.equal(metadata.row_groups.length, 5);
  const got = await read([path]);
  assert.deepEqual(
    got.map(content),
    instruction.map((q, i) => [user(q), bot(output[i]!)]),
  );
  assert.deepEqual(
    got.map((e) => e.where),
    instruction.map((_, i) => `${path} row ${i}`),
  );
});

test("a Parquet file without a known shape's columns names the columns it has", async () => {
  const dir = fresh();
  const path = writeParquet(
    dir,
    "odd.parquet",
    [
      { data: ["q"], schema: [string("query")] },
      { data: ["a"], schema: [string("answer")] },
    ],
    ["query", "answer"],
  );
  await usageError(
    read([path]),
    /odd\.parquet: no columns of a known shape; it has query, answer \(accepted: messages \(messages\)/,
  );
  await usageError(
    read([path], { format: "alpaca" }),
    /odd\.parquet: the alpaca shape needs column instruction, output; it has query, answer/,
  );
});

test("a named format picks among a Parquet file's columns", async () => {
  const path = writeParquet(
    fresh(),
    "both.parquet",
    [
      { data: [[user("a"), bot("b")]], schema: listOfStruct("messages", "role", "content") },
      { data: ["rendered"], schema: [string("text")] },
    ],
    ["messages", "text"],
  );
  assert.deepEqual((await read([path])).map(content), [[user("a"), bot("b")]]);
  assert.deepEqual((await read([path], { format: "text" })).map(content), ["rendered"]);
});

test("a bad Parquet row names its row; skipBad skips it", async () => {
  const path = writeParquet(
    fresh(),
    "bad.parquet",
    [
      {
        data: [
          [user("a"), bot("b")],
          [user("no answer")],
          [sys("s"), { role: "user", content: null }],
          [user("c"), bot("d")],
        ],
        schema: listOfStruct("messages", "role", "content"),
      },
    ],
    ["messages"],
  );
  await usageError(read([path]), /bad\.parquet row 1: no assistant turn/);
  const bad: [string, string][] = [];
  const got = await read([path], { skipBad: true, onBad: (w, r) => bad.push([w, r]) });
  assert.deepEqual(
    got.map((e) => e.where),
    [`${path} row 0`, `${path} row 3`],
  );
  assert.deepEqual(
    bad.map(([w]) => w),
    [`${path} row 1`, `${path} row 2`],
  );
  assert.match(bad[1]![1], /messages\[1\] has no string "content"/);
});

test("a file named .parquet that is not Parquet is one line naming it", async () => {
  const dir = fresh();
  await usageError(
    read([writeText(dir, "fake.parquet", "hello, not parquet at all")]),
    /fake\.parquet: cannot read as Parquet/,
  );
});
