import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  CORPUS_INDEX_FILE,
  openTokenizedCorpus,
  tokenizeCorpus,
  TOKENS_FILE,
  type TokenizedCorpus,
} from "../../src/data/tokenCache.js";
import { CheckpointError, UsageError } from "../../src/errors.js";
import { byteTokenizerFiles } from "../fixtures/byteTokenizer.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { readJson, tempDir } from "../helpers.js";

const root = tempDir("deepen-tokens-");
let count = 0;
const fresh = (prefix: string) => {
  const d = join(root, `${prefix}${count++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** The byte-level tokenizer (id = byte, <s> = 256 as BOS, </s> = 257 as EOS) in a fresh folder. */
async function byteTokenizer(
  editConfig: (c: Record<string, unknown>) => void = () => {},
): Promise<Tokenizer> {
  const dir = fresh("tok");
  const files = byteTokenizerFiles();
  const config = JSON.parse(files["tokenizer_config.json"]!) as Record<string, unknown>;
  editConfig(config);
  files["tokenizer_config.json"] = JSON.stringify(config);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return loadTokenizer(dir);
}

/** The tokenizer with encode calls counted (a wrapper around the real one, not a stand-in). */
function counting(tok: Tokenizer): { tok: Tokenizer; calls: () => number } {
  let calls = 0;
  return {
    tok: {
      ...tok,
      encode: (text, opts) => {
        calls++;
        return tok.encode(text, opts);
      },
    },
    calls: () => calls,
  };
}

function corpusFolder(files: Record<string, string | Buffer>): string {
  const dir = fresh("corpus");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

const DOCS = ["hello", "wörld, two\nlines", "x", "日本語 🎉", "the last one"];
const corpusFiles = () => ({
  "a.txt": DOCS[0]!,
  "b/c.jsonl": DOCS.slice(1, 3)
    .map((text) => JSON.stringify({ text }))
    .join("\n"),
  "b/d.jsonl.gz": gzipSync(
    DOCS.slice(3)
      .map((text) => JSON.stringify({ text }) + "\n")
      .join(""),
  ),
});

async function allTokens(c: TokenizedCorpus): Promise<number[]> {
  return [...(await c.read(0, c.totalTokens))];
}

async function usageError(p: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UsageError, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("the token file holds encode(doc) + EOS for each document, in order, as uint32 little-endian", async () => {
  const tok = await byteTokenizer();
  const input = corpusFolder(corpusFiles());
  const cacheDir = join(fresh("cache"), "nested", "cache");
  const seen: [number, number][] = [];
  const { corpus, reused } = await tokenizeCorpus([input], tok, {
    cacheDir,
    onProgress: (bytes, total) => seen.push([bytes, total]),
  });
  try {
    assert.equal(reused, false);
    const want = DOCS.map((d) => [...tok.encode(d), 257]);
    assert.equal(want[0]![0], 256, "the fixture adds BOS");
    assert.equal(corpus.documents, DOCS.length);
    assert.equal(corpus.totalTokens, want.flat().length);
    assert.deepEqual(await allTokens(corpus), want.flat());
    let start = 0;
    for (let i = 0; i < DOCS.length; i++) {
      assert.equal(corpus.docStart(i), start);
      assert.equal(corpus.docLength(i), want[i]!.length);
      assert.deepEqual([...(await corpus.read(start, want[i]!.length))], want[i]);
      start += want[i]!.length;
    }
    assert.equal(corpus.docStart(DOCS.length), corpus.totalTokens);
    assert.deepEqual([...(await corpus.read(3, 0))], []);
    await assert.rejects(corpus.read(corpus.totalTokens - 1, 2), RangeError);
    assert.throws(() => corpus.docStart(DOCS.length + 1), RangeError);

    // The files on disk: the raw bytes, the index, and nothing else in the cache folder.
    assert.deepEqual(readdirSync(cacheDir), [corpus.key]);
    const raw = readFileSync(join(corpus.dir, TOKENS_FILE));
    assert.equal(raw.length, corpus.totalTokens * 4);
    assert.equal(raw.readUInt32LE(0), 256);
    const index = readJson(join(corpus.dir, CORPUS_INDEX_FILE));
    assert.equal(index.key, corpus.key);
    assert.equal(index.documents, DOCS.length);
    assert.equal(index.totalTokens, corpus.totalTokens);
    assert.equal(typeof index.version, "number");
    assert.equal((index.docStarts as number[]).length, DOCS.length + 1);

    // Progress counts the bytes on disk, up to their total.
    const total = Object.values(corpusFiles()).reduce((s, c) => s + Buffer.byteLength(c), 0);
    assert.ok(seen.length > 0);
    assert.deepEqual(seen[seen.length - 1], [total, total]);
  } finally {
    await corpus.close();
  }
});

test("a second call with the same inputs reuses the cache without tokenizing; a moved corpus too", async () => {
  const tok = await byteTokenizer();
  const input = corpusFolder(corpusFiles());
  const cacheDir = fresh("cache");
  const first = await tokenizeCorpus([input], tok, { cacheDir });
  const tokens = await allTokens(first.corpus);
  await first.corpus.close();
  const file = join(first.corpus.dir, TOKENS_FILE);
  const mtime = statSync(file).mtimeMs;

  const counted = counting(tok);
  const second = await tokenizeCorpus([input], counted.tok, { cacheDir, onProgress: () => assert.fail() });
  assert.equal(second.reused, true);
  assert.equal(counted.calls(), 0, "nothing was tokenized");
  assert.equal(statSync(file).mtimeMs, mtime);
  assert.equal(second.corpus.key, first.corpus.key);
  assert.deepEqual(await allTokens(second.corpus), tokens);
  await second.corpus.close();

  // Names are relative to the input folder: a copy elsewhere has the same key.
  const moved = join(fresh("moved"), "elsewhere");
  cpSync(input, moved, { recursive: true });
  const third = await tokenizeCorpus([moved], counted.tok, { cacheDir });
  assert.equal(third.reused, true);
  assert.equal(counted.calls(), 0);
  await third.corpus.close();
  assert.deepEqual(readdirSync(cacheDir), [first.corpus.key]);
});

test("changing the tokenizer config, an input's content, the inputs or the text field makes a new entry", async () => {
  const tok = await byteTokenizer();
  const input = corpusFolder(corpusFiles());
  const cacheDir = fresh("cache");
  const base = await tokenizeCorpus([input], tok, { cacheDir });
  await base.corpus.close();
  const keys = new Set([base.corpus.key]);

  async function expectNew(paths: string[], t: Tokenizer, textField?: string): Promise<TokenizedCorpus> {
    const counted = counting(t);
    const r = await tokenizeCorpus(paths, counted.tok, { cacheDir, ...(textField && { textField }) });
    assert.equal(r.reused, false);
    assert.ok(counted.calls() > 0);
    assert.ok(!keys.has(r.corpus.key), "a new key");
    keys.add(r.corpus.key);
    return r.corpus;
  }

  // add_bos_token false: same tokenizer.json, other tokens.
  const noBos = await byteTokenizer((c) => (c.add_bos_token = false));
  const c1 = await expectNew([input], noBos);
  assert.deepEqual(await allTokens(c1), DOCS.map((d) => [...Buffer.from(d, "utf8"), 257]).flat());
  await c1.close();

  // One byte of one input changed.
  writeFileSync(join(input, "a.txt"), "hellO");
  const c2 = await expectNew([input], tok);
  assert.deepEqual([...(await c2.read(0, 7))], [256, ...Buffer.from("hellO"), 257]);
  await c2.close();

  // Another input list, and another text field.
  const c3 = await expectNew([join(input, "a.txt")], tok);
  assert.equal(c3.documents, 1);
  await c3.close();
  const both = corpusFolder({ "a.jsonl": JSON.stringify({ text: "t", body: "b" }) });
  await (await expectNew([both], tok)).close();
  const c4 = await expectNew([both], tok, "body");
  assert.deepEqual([...(await c4.read(0, c4.totalTokens))], [256, 98, 257]);
  await c4.close();

  // Back to the first tokenizer and inputs: the original entry is still there.
  writeFileSync(join(input, "a.txt"), DOCS[0]!);
  const again = await tokenizeCorpus([input], tok, { cacheDir });
  assert.equal(again.reused, true);
  assert.equal(again.corpus.key, base.corpus.key);
  await again.corpus.close();
});

test("a failure part way leaves no cache entry and no temporary files", async () => {
  const tok = await byteTokenizer();
  const rows = Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `document ${i}` }));
  const input = corpusFolder({ "a.jsonl": rows.join("\n") + '\n{"text": 1}\n' });
  const cacheDir = fresh("cache");
  await usageError(tokenizeCorpus([input], tok, { cacheDir }), /a\.jsonl:51: the "text" field is a number/);
  assert.deepEqual(readdirSync(cacheDir), []);
});

test("a damaged entry is refused by openTokenizedCorpus and rewritten by tokenizeCorpus", async () => {
  const tok = await byteTokenizer();
  const input = corpusFolder(corpusFiles());
  const cacheDir = fresh("cache");
  const first = await tokenizeCorpus([input], tok, { cacheDir });
  await first.corpus.close();
  const tokensFile = join(first.corpus.dir, TOKENS_FILE);
  truncateSync(tokensFile, 8);
  await assert.rejects(openTokenizedCorpus(first.corpus.dir), (e: Error) => {
    assert.ok(e instanceof CheckpointError);
    assert.match(e.message, /tokens\.u32: 8 bytes, but index\.json says \d+ tokens/);
    return true;
  });
  const second = await tokenizeCorpus([input], tok, { cacheDir });
  assert.equal(second.reused, false);
  assert.equal(statSync(tokensFile).size, second.corpus.totalTokens * 4);
  await second.corpus.close();

  writeFileSync(join(first.corpus.dir, CORPUS_INDEX_FILE), "{ nope");
  await assert.rejects(openTokenizedCorpus(first.corpus.dir), /index\.json: not valid JSON/);
  const third = await tokenizeCorpus([input], tok, { cacheDir });
  assert.equal(third.reused, false);
  await third.corpus.close();
  assert.deepEqual(readdirSync(cacheDir), [first.corpus.key]);
});

test("no input files, no documents, a missing path, no EOS token, a cache inside the input: UsageError", async () => {
  const tok = await byteTokenizer();
  const cacheDir = fresh("cache");
  const empty = corpusFolder({ ".hidden.txt": "x" });
  await usageError(
    tokenizeCorpus([empty], tok, { cacheDir }),
    /no input files in .* \(dot-files are skipped; folders are read for txt, md, jsonl files, --ext chooses\)/,
  );
  await usageError(tokenizeCorpus([], tok, { cacheDir }), /no input files/);
  const blank = corpusFolder({ "a.txt": "", "b.jsonl": '\n{"text": ""}\n\n' });
  await usageError(
    tokenizeCorpus([blank], tok, { cacheDir }),
    /no documents in .*every file and JSONL line is empty/,
  );
  assert.deepEqual(readdirSync(cacheDir), []);
  await usageError(tokenizeCorpus([join(blank, "nope")], tok, { cacheDir }), /nope: no such file or folder/);

  const noEos = await byteTokenizer((c) => delete c.eos_token);
  for (const f of ["special_tokens_map.json", "generation_config.json"]) {
    const j = readJson(join(noEos.dir, f));
    delete j.eos_token;
    delete j.eos_token_id;
    writeFileSync(join(noEos.dir, f), JSON.stringify(j));
  }
  const reloaded = await loadTokenizer(noEos.dir);
  assert.deepEqual(reloaded.eosIds, []);
  const input = corpusFolder({ "a.txt": "x" });
  await usageError(tokenizeCorpus([input], reloaded, { cacheDir }), /has no EOS token/);

  await usageError(
    tokenizeCorpus([input], tok, { cacheDir: join(input, "cache") }),
    /cache folder .* is inside the input .*: its files would be read as documents/,
  );
  const inDot = await tokenizeCorpus([input], tok, { cacheDir: join(input, ".cache") });
  assert.equal(inDot.corpus.documents, 1);
  await inDot.corpus.close();
  const again = await tokenizeCorpus([input], tok, { cacheDir: join(input, ".cache") });
  assert.equal(again.reused, true);
  await again.corpus.close();
});
