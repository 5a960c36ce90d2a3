// What the contamination check scores: each example's Min-K% from one forward pass of its own
// whatever the batching, the same texts from every file format, the default fields, cuts and skips.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { contamination } from "../../src/eval/contamination/contamination.js";
import { minKProb } from "../../src/eval/contamination/minKProb.js";
import { readTexts } from "../../src/eval/contamination/readTexts.js";
import { DecoderModel } from "../../src/nn/decoderModel.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { string, writeParquet } from "../data/instruct/parquetWriter.js";
import { fixture, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const ref = await fixture(root, { family: "llama", layers: 2, dtype: "F32", seed: 7 });
// Lengths from 1 to 90 bytes, so runs mix row lengths, pad, and a last run is short of rows.
const texts = Array.from({ length: 11 }, (_, i) =>
  "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age".slice(
    0,
    1 + i * 9,
  ),
);
const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r) + "\n").join("");
const file = (name: string, content: string | Buffer) => {
  const path = join(root, name);
  writeFileSync(path, content);
  return path;
};

test("each example's score is Min-K% of its own forward pass, whatever the batch; the difference is model − reference", async () => {
  const data = file("texts.jsonl", jsonl(texts.map((text) => ({ text }))));
  const r = await contamination(model, { ref, data, k: 30, rows: 3 });
  const tokenizer = await loadTokenizer(model);
  const single = async (dir: string) => {
    const m = await DecoderModel.load(dir);
    const out: number[] = [];
    for (const t of texts) {
      const ids = tokenizer.encode(t);
      const nll = await m.nll([ids.slice(0, -1)], [ids.slice(1)]);
      out.push(
        minKProb(
          Array.from(nll, (x) => -x),
          30,
        ),
      );
    }
    await m.release();
    return out;
  };
  const [m, rf] = [await single(model), await single(ref)];
  assert.equal(r.examples.length, texts.length);
  r.examples.forEach((e, i) => {
    assert.equal(e.index, i);
    assert.equal(e.where, `${data}:${i + 1}`);
    assert.equal(e.tokens, texts[i]!.length + 1, "a byte a token, and the BOS");
    assert.ok(Math.abs(e.model - m[i]!) < 1e-5, `model ${i}: ${e.model} vs ${m[i]}`);
    assert.ok(Math.abs(e.reference - rf[i]!) < 1e-5, `reference ${i}: ${e.reference} vs ${rf[i]}`);
    assert.equal(e.difference, e.model - e.reference);
  });
  assert.equal(r.auc, undefined, "no labels, no AUC");
  assert.deepEqual(
    r.top.map((e) => e.index),
    [...r.examples]
      .sort((a, b) => b.difference - a.difference)
      .map((e) => e.index)
      .slice(0, 10),
  );
});

test("JSONL, a JSON array, gzip of either, Parquet and plain text lines give the same scores", async () => {
  const records = texts.map((text) => ({ text }));
  const files = [
    file("a.jsonl", jsonl(records)),
    file("a.json", JSON.stringify(records)),
    file("a.jsonl.gz", gzipSync(jsonl(records))),
    file("a.json.gz", gzipSync(JSON.stringify(records))),
    writeParquet(root, "a.parquet", [{ data: texts, schema: [string("text")] }], ["text"]),
    file("a.txt", texts.join("\n\n") + "\n"),
  ];
  const scores = [];
  for (const data of files) {
    const r = await contamination(model, { ref, data });
    scores.push(r.examples.map((e) => e.difference));
  }
  for (const s of scores.slice(1)) assert.deepEqual(s, scores[0]);
  assert.equal((await readTexts(files[4]!)).texts[3]!.where, `${files[4]} row 3`);
  assert.equal((await readTexts(files[1]!)).texts[3]!.where, `${files[1]}[3]`);
  assert.equal((await readTexts(files[5]!)).texts[1]!.where, `${files[5]}:3`, "blank lines are not examples");
});

test('with no "text" field, a record is its string fields joined by newlines; --field takes a dotted path', async () => {
  const gsm = [
    { question: "Tom has 3 apples and buys 4 more. How many?", answer: "3 + 4 = 7\n#### 7", id: 3 },
    { question: "Ann reads 5 pages a day. Pages in 6 days?", answer: "5 * 6 = 30\n#### 30", id: 4 },
  ];
  const joined = await readTexts(file("gsm.jsonl", jsonl(gsm)));
  assert.deepEqual(joined.fields, ["question", "answer"]);
  assert.deepEqual(
    joined.texts.map((t) => t.text),
    gsm.map((g) => `${g.question}\n${g.answer}`),
  );
  const a = await contamination(model, { ref, data: file("gsm.jsonl", jsonl(gsm)) });
  const b = await contamination(model, {
    ref,
    data: file("gsm-text.jsonl", jsonl(gsm.map((g) => ({ text: `${g.question}\n${g.answer}` })))),
  });
  assert.deepEqual(
    a.examples.map((e) => e.model),
    b.examples.map((e) => e.model),
  );
  const nested = await readTexts(file("nested.jsonl", jsonl([{ doc: { body: "inside" }, label: "1" }])), {
    field: "doc.body",
    labelField: "label",
  });
  assert.deepEqual(nested.texts, [{ where: `${root}/nested.jsonl:1`, text: "inside", label: 1 }]);
});

test("long examples are cut to --max-tokens and texts with nothing to predict passed over; --limit reads the first N", async () => {
  const data = file("mixed.jsonl", jsonl([{ text: "" }, ...texts.map((text) => ({ text }))]));
  const r = await contamination(model, { ref, data, maxTokens: 40 });
  assert.equal(r.settings.skipped, 1, "the empty text is its BOS alone");
  assert.equal(r.settings.cut, texts.filter((t) => t.length + 1 > 40).length);
  assert.equal(Math.max(...r.examples.map((e) => e.tokens)), 40);
  assert.equal(r.examples[0]!.index, 1, "indices count the file's examples, the skipped one included");
  const limited = await contamination(model, { ref, data, limit: 4 });
  assert.deepEqual(
    limited.examples.map((e) => e.index),
    [1, 2, 3],
  );
  // The model's own 2048 positions would allow more; the default is capped at 4096 and at the models'.
  assert.equal(limited.settings.maxTokens, 2048);
});
