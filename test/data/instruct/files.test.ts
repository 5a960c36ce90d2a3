import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { JsonArraySplitter } from "../../../src/data/instruct/jsonArray.js";
import { tempDir } from "../../helpers.js";
import {
  bot,
  jsonl,
  SAMPLES,
  user,
  writeGzip,
  writeJsonArray,
  writeJsonl,
  writeText,
  read,
  content,
  usageError,
} from "./samples.js";

const root = tempDir("deepen-instruct-files-");
let count = 0;
const fresh = () => join(root, `d${count++}`);

for (const [name, sample] of Object.entries(SAMPLES)) {
  test(`${name}: a JSON array, gzip of JSONL and of a JSON array read as JSONL does`, async () => {
    const dir = fresh();
    const expected = (await read([writeJsonl(dir, "a.jsonl", sample.records)])).map(content);
    assert.deepEqual(expected, sample.expected);

    const array = writeJsonArray(dir, "a.json", sample.records);
    const fromArray = await read([array]);
    assert.deepEqual(fromArray.map(content), expected);
    assert.deepEqual(
      fromArray.map((e) => e.where),
      sample.records.map((_, i) => `${array}[${i}]`),
    );
    assert.deepEqual(
      fromArray.map((e) => e.record),
      sample.records,
    );

    const gz = writeGzip(dir, "a.jsonl.gz", jsonl(sample.records));
    const fromGz = await read([gz]);
    assert.deepEqual(fromGz.map(content), expected);
    assert.equal(fromGz[0]?.where, `${gz}:1`);

    const arrayGz = writeGzip(dir, "a.json.gz", JSON.stringify(sample.records));
    assert.deepEqual((await read([arrayGz])).map(content), expected);
  });
}

test("a .json file of JSON Lines (what `datasets` to_json writes) is read as lines", async () => {
  const dir = fresh();
  const path = writeText(dir, "train.json", "\uFEFF" + jsonl(SAMPLES.alpaca!.records));
  const got = await read([path]);
  assert.deepEqual(got.map(content), SAMPLES.alpaca!.expected);
  assert.equal(got[1]?.where, `${path}:2`);
});

test("a JSON array's elements are found whatever the strings and nesting hold, in chunks of any size", () => {
  const records = [
    { text: 'brackets ] [ } { and commas , inside "quotes" and \\ backslashes\\' },
    { messages: [{ role: "user", content: "é, 中文, 🙂 and \u2028" }], nested: [[1, [2]], { a: { b: [] } }] },
    { text: "" },
  ];
  const bytes = Buffer.from("\uFEFF \n" + JSON.stringify(records, null, 1) + "\n\n");
  for (const size of [1, 2, 3, 7, 64, bytes.length]) {
    const splitter = new JsonArraySplitter("f.json");
    const got: unknown[] = [];
    for (let i = 0; i < bytes.length; i += size)
      for (const el of splitter.push(bytes.subarray(i, i + size))) got.push(JSON.parse(el.toString("utf8")));
    splitter.end();
    assert.deepEqual(got, records, `chunks of ${size}`);
  }
});

test("a malformed JSON array is one line naming the file (and the element, for a bad one)", async () => {
  const dir = fresh();
  const good = JSON.stringify({ messages: [user("a"), bot("b")] });
  await usageError(
    read([writeText(dir, "cut.json", `[${good}, ${good}`)]),
    /cut\.json: the JSON array is not closed/,
  );
  await usageError(
    read([writeText(dir, "trail.json", `[${good},]`)]),
    /trail\.json: not a JSON array: a comma before \]/,
  );
  await usageError(
    read([writeText(dir, "after.json", `[${good}] x`)]),
    /after\.json: not a JSON array: data after the closing \]/,
  );
  await usageError(
    read([writeText(dir, "scalar.json", `"text"`)]),
    /scalar\.json: neither a JSON array of objects nor JSON Lines/,
  );
  await usageError(
    read([writeText(dir, "elem.json", `[${good}, {"messages": tru}]`)]),
    /elem\.json\[1\]: not valid JSON/,
  );
  await usageError(
    read([writeText(dir, "num.json", `[${good}, 7]`)]),
    /num\.json\[1\]: a record must be a JSON object, not a number/,
  );
  // A bad element is a bad record: skipBad goes on past it.
  const bad: string[] = [];
  const path = writeText(dir, "skip.json", `[{"messages": tru}, ${good}, 7, ${good}]`);
  const got = await read([path], { skipBad: true, onBad: (w) => bad.push(w) });
  assert.deepEqual(
    got.map((e) => e.where),
    [`${path}[1]`, `${path}[3]`],
  );
  assert.deepEqual(bad, [`${path}[0]`, `${path}[2]`]);
});

test("empty files of every kind yield nothing", async () => {
  const dir = fresh();
  const files = [
    writeText(dir, "a.jsonl", ""),
    writeText(dir, "b.jsonl", "\n\n  \n"),
    writeText(dir, "c.json", ""),
    writeText(dir, "d.json", "[]"),
    writeText(dir, "e.json", " [ \n ] \n"),
    writeGzip(dir, "f.jsonl.gz", ""),
  ];
  assert.deepEqual(await read(files), []);
});

test("folders are read in sorted order, for their instruction files only, files named directly as given", async () => {
  const dir = fresh();
  const rec = (n: number) => ({ instruction: `i${n}`, output: `o${n}` });
  writeJsonl(dir, "b.jsonl", [rec(2)]);
  writeJsonArray(dir, "a.json", [rec(1)]);
  writeGzip(dir, "sub/c.jsonl.gz", jsonl([rec(3)]));
  writeJsonl(dir, "sub/d/e.jsonl", [rec(4)]);
  writeText(dir, "README.md", "# a dataset");
  writeText(dir, "script.py", "print(1)");
  writeJsonl(dir, ".hidden.jsonl", [rec(9)]);
  const extra = writeJsonl(fresh(), "z.jsonl", [rec(0)]);
  const skipped: string[] = [];
  const got = await read([extra, dir], { onSkip: (p) => skipped.push(p) });
  assert.deepEqual(
    got.map((e) => e.record.instruction),
    ["i0", "i1", "i2", "i3", "i4"],
  );
  assert.deepEqual(skipped, [join(dir, "README.md"), join(dir, "script.py")]);
  // --ext narrows a folder to some of them.
  assert.deepEqual(
    (await read([dir], { extensions: ["json"] })).map((e) => e.record.instruction),
    ["i1"],
  );
});

test("unsupported files, missing paths, empty folders and embedded corpora are one-line errors", async () => {
  const dir = fresh();
  await usageError(
    read([writeText(dir, "data.csv", "a,b\n")]),
    /data\.csv: not an instruction-data file \(deepen reads \.jsonl, \.json, \.parquet/,
  );
  await usageError(
    read([writeGzip(dir, "x.parquet.gz", "x")]),
    /x\.parquet\.gz: Parquet compresses its own pages/,
  );
  await usageError(read([writeText(dir, "bad.jsonl.gz", "not gzip")]), /bad\.jsonl\.gz: not valid gzip data/);
  await usageError(read([join(dir, "missing.jsonl")]), /missing\.jsonl: no such file or folder/);
  const empty = join(dir, "empty");
  mkdirSync(empty);
  await usageError(read([empty]), /no input files in .*empty .*jsonl, json, parquet/);
  await usageError(read([]), /no input files or folders given/);
  await usageError(read(["embedded:train"]), /embedded:train: the embedded corpora are plain text/);
});
