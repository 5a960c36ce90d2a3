import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { PackedSequences, shuffledOrder, splitDocuments } from "../../src/data/packing.js";
import { tokenizeCorpus, type TokenizedCorpus } from "../../src/data/tokenCache.js";
import { UsageError } from "../../src/errors.js";
import { byteTokenizerFiles } from "../fixtures/byteTokenizer.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { tempDir } from "../helpers.js";

const root = tempDir("deepen-packing-");

/** A tokenized corpus of `docs` with the byte tokenizer: doc "ab" is [256, 97, 98, 257]. */
async function corpusOf(docs: string[], name: string): Promise<TokenizedCorpus> {
  const tokDir = join(root, `${name}-tok`);
  mkdirSync(tokDir);
  for (const [f, content] of Object.entries(byteTokenizerFiles())) writeFileSync(join(tokDir, f), content);
  const input = join(root, `${name}.jsonl`);
  writeFileSync(input, docs.map((text) => JSON.stringify({ text })).join("\n"));
  const { corpus } = await tokenizeCorpus([input], await loadTokenizer(tokDir), {
    cacheDir: join(root, "cache"),
  });
  after(() => corpus.close());
  return corpus;
}

const B = 256; // <s>
const E = 257; // </s>
const bytes = (s: string) => [...Buffer.from(s)];

async function usageError(f: () => unknown, pattern: RegExp) {
  await assert.rejects(
    async () => f(),
    (e: Error) => {
      assert.ok(e instanceof UsageError, `${e.name}: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test("windows of seqLen + 1 tokens run across document boundaries, overlapping by one", async () => {
  const corpus = await corpusOf(["ab", "cde", "f"], "abc");
  // stream: <s> a b </s> <s> c d e </s> <s> f </s>   (12 tokens)
  const stream = [B, ...bytes("ab"), E, B, ...bytes("cde"), E, B, ...bytes("f"), E];
  const p = new PackedSequences(corpus, [0, 1, 2], 4);
  assert.equal(p.tokens, 12);
  assert.equal(p.count, 2); // floor(11 / 4)
  assert.deepEqual([...(await p.get(0))], [B, 97, 98, E, B]);
  assert.deepEqual([...(await p.get(1))], [B, 99, 100, 101, E]);
  await assert.rejects(p.get(2), RangeError);
  await assert.rejects(p.get(-1), RangeError);

  // Every seqLen: sequence i is stream[i·L, i·L + L + 1), and count = floor((N − 1) / L).
  for (let L = 1; L <= 11; L++) {
    const q = new PackedSequences(corpus, [0, 1, 2], L);
    assert.equal(q.count, Math.floor(11 / L));
    for (let i = 0; i < q.count; i++)
      assert.deepEqual([...(await q.get(i))], stream.slice(i * L, i * L + L + 1), `L=${L} i=${i}`);
  }

  // A subset of documents, not adjacent in the file, in the order given.
  const sub = new PackedSequences(corpus, [2, 0], 3);
  const subStream = [B, ...bytes("f"), E, B, ...bytes("ab"), E];
  assert.equal(sub.count, 2);
  assert.deepEqual([...(await sub.get(0))], subStream.slice(0, 4));
  assert.deepEqual([...(await sub.get(1))], subStream.slice(3, 7));
});

test("packing a larger corpus matches the concatenated documents, for a split's documents", async () => {
  const docs = Array.from({ length: 60 }, (_, i) => `doc ${i}: ` + "xyz".repeat(i % 7));
  const corpus = await corpusOf(docs, "many");
  const { train, eval: evalDocs } = splitDocuments(corpus.documents, 0.2, 7);
  for (const [docList, L] of [
    [train, 16],
    [evalDocs, 5],
  ] as const) {
    const stream: number[] = [];
    for (const d of docList) stream.push(B, ...bytes(docs[d]!), E);
    const p = new PackedSequences(corpus, [...docList], L);
    assert.equal(p.tokens, stream.length);
    assert.equal(p.count, Math.floor((stream.length - 1) / L));
    for (let i = 0; i < p.count; i++)
      assert.deepEqual([...(await p.get(i))], stream.slice(i * L, i * L + L + 1));
  }
});

test("a stream shorter than one sequence, or empty, is a UsageError saying how many tokens it has", async () => {
  const corpus = await corpusOf(["ab", "cde", "f"], "short");
  assert.equal(new PackedSequences(corpus, [0, 1, 2], 11).count, 1); // 12 tokens = 11 + 1
  await usageError(
    () => new PackedSequences(corpus, [0, 1, 2], 12, "the training split"),
    /^the training split has 12 tokens \(3 documents\); one sequence of seq-len 12 needs seq-len \+ 1 = 13$/,
  );
  await usageError(
    () => new PackedSequences(corpus, [], 4),
    /has 0 tokens \(0 documents\).*needs seq-len \+ 1 = 5/,
  );
  await usageError(() => new PackedSequences(corpus, [0], 0), /seq-len must be a whole number ≥ 1/);
  assert.throws(() => new PackedSequences(corpus, [3], 1), RangeError);
});

test("the eval split is seeded, never overlaps training, and both are sorted", async () => {
  for (const [n, fraction] of [
    [100, 0.1],
    [7, 0.3],
    [2, 0.01],
    [1000, 0.5],
  ] as const) {
    const a = splitDocuments(n, fraction, 42);
    assert.deepEqual(splitDocuments(n, fraction, 42), a, "same seed, same split");
    assert.equal(a.eval.length, Math.max(1, Math.round(n * fraction)));
    assert.deepEqual(
      [...a.train, ...a.eval].sort((x, y) => x - y),
      Array.from({ length: n }, (_, i) => i),
    );
    const inEval = new Set(a.eval);
    assert.ok(!a.train.some((d) => inEval.has(d)));
    for (const list of [a.train, a.eval])
      assert.deepEqual(
        list,
        [...list].sort((x, y) => x - y),
      );
  }
  assert.notDeepEqual(splitDocuments(100, 0.1, 1).eval, splitDocuments(100, 0.1, 2).eval);
  assert.deepEqual(splitDocuments(5, 0, 1), { train: [0, 1, 2, 3, 4], eval: [] });
  assert.deepEqual(splitDocuments(1, 0, 1), { train: [0], eval: [] });

  await usageError(() => splitDocuments(1, 0.1, 1), /leaves none for training/);
  await usageError(
    () => splitDocuments(2, 0.9, 1),
    /eval fraction 0\.9 of 2 documents leaves none for training/,
  );
  await usageError(() => splitDocuments(10, 1, 1), /eval fraction must be at least 0 and below 1, not 1/);
  await usageError(() => splitDocuments(10, -0.1, 1), /eval fraction/);
  await usageError(() => splitDocuments(10, NaN, 1), /eval fraction/);
  await usageError(() => splitDocuments(0, 0.1, 1), /no documents/);
  await usageError(() => splitDocuments(10, 0.1, 1.5), /seed must be a whole number/);
});

test("shuffledOrder is a permutation, the same for the same (seed, epoch), different across epochs", () => {
  const n = 1000;
  const a = shuffledOrder(n, 3, 0);
  assert.ok(a instanceof Uint32Array);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.deepEqual(shuffledOrder(n, 3, 0), a);
  const b = shuffledOrder(n, 3, 1);
  assert.deepEqual(
    [...b].sort((x, y) => x - y),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.notDeepEqual(b, a);
  assert.notDeepEqual(shuffledOrder(n, 4, 0), a);
  assert.notDeepEqual(
    [...a],
    Array.from({ length: n }, (_, i) => i),
  );
  // Epochs of one seed are all different.
  const seen = new Set<string>();
  for (let e = 0; e < 20; e++) seen.add(shuffledOrder(10, 9, e).join(","));
  assert.equal(seen.size, 20);
  assert.deepEqual([...shuffledOrder(0, 1, 0)], []);
  assert.deepEqual([...shuffledOrder(1, 1, 5)], [0]);
  assert.throws(() => shuffledOrder(5, 1, -1), UsageError);
  assert.throws(() => shuffledOrder(-1, 1, 0), UsageError);
});
