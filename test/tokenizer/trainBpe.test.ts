import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { tokenizeCorpus } from "../../src/data/tokenCache.js";
import { OutputError, UsageError } from "../../src/errors.js";
import { mulberry32 } from "../../src/random.js";
import { BYTE_TO_CHAR, CHAR_TO_BYTE, splitWords, toByteLevel } from "../../src/tokenizer/byteLevel.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import {
  BOS_TOKEN,
  EOS_TOKEN,
  MIN_VOCAB_SIZE,
  PAD_TOKEN,
  SPECIAL_TOKENS,
  WordCounts,
  learnBpe,
  trainBpe,
  trainTokenizer,
} from "../../src/tokenizer/trainBpe.js";
import { TOKENIZER_FILES } from "../../src/tokenizer/writeTokenizerFiles.js";
import { readJson, tempDir } from "../helpers.js";

const root = tempDir("deepen-bpe-");
let count = 0;
const fresh = (name = "d") => join(root, `${name}${count++}`);

/** Text with what a byte-level tokenizer must carry: accents, CJK, emoji sequences, combining
 * marks, CRLF, tabs, runs of spaces, digits, contractions. */
const CORPUS = [
  "The quick brown fox jumps over the lazy dog. The dog doesn't mind; the fox isn't quick at all.\n",
  "Café, naïve, Ångström, façade — “quoted” and ‘single’ text.\r\n\tA tab, then   three spaces.\n",
  "日本語のテキストと中文，还有한국어도 있습니다。\n",
  "Emoji 🎉👩‍👩‍👧 flags 🇫🇷🇯🇵 and e\u0301 combining, n\u0303.\n",
  "Numbers 1790, 2024 and 3.14159; the year 1790 again, and again 1790.\n",
].join("");

/** A corpus folder with one file per element. */
function corpus(texts: string[], name = "c"): string {
  const dir = fresh(name);
  mkdirSync(dir);
  texts.forEach((t, i) => writeFileSync(join(dir, `doc${i}.txt`), t));
  return dir;
}

test("the byte table is GPT-2's and the split pattern keeps every character", () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
  assert.equal(BYTE_TO_CHAR[0x0a], "Ċ");
  assert.equal(BYTE_TO_CHAR[0x41], "A");
  assert.equal(CHAR_TO_BYTE.get("Ġ"), 0x20);
  assert.equal(toByteLevel(" é"), "ĠÃ©");
  assert.deepEqual(splitWords("Hello  world, it's 2024!\n"), [
    "Hello",
    " ",
    " world",
    ",",
    " it",
    "'s",
    " 2024",
    "!",
    "\n",
  ]);
  for (const text of [CORPUS, "", " ", "\r\n\t x  "]) assert.equal(splitWords(text).join(""), text);
});

test("merges of a hand-made corpus are the hand-computed ones, in order", () => {
  // Pair counts: u g 20, p u 17, u n 16, h u 15, g s 5, b u 4.
  const counts = new Map([
    ["hug", 10],
    ["pug", 5],
    ["pun", 12],
    ["bun", 4],
    ["hugs", 5],
  ]);
  const r = learnBpe(counts, { vocabSize: 1000 });
  assert.deepEqual(r.merges, [
    ["u", "g"], // 20
    ["u", "n"], // 16 (p u fell to 12 when "pug" became p ug)
    ["h", "ug"], // 15
    ["p", "un"], // 12
    ["p", "ug"], // 5, tied with (hug, s): p is a byte, so its id is smaller
    ["hug", "s"], // 5
    ["b", "un"], // 4
  ]);
  assert.deepEqual(r.tokens.slice(MIN_VOCAB_SIZE), ["ug", "un", "hug", "pun", "pug", "hugs", "bun"]);
  assert.equal(r.stats.stopped, "min-frequency"); // every word is one token: no pair left
  assert.equal(r.stats.lastMergeCount, 4);

  // --min-frequency 5 stops before (b, un), seen 4 times; a vocabulary size stops where it says.
  assert.equal(learnBpe(counts, { vocabSize: 1000, minFrequency: 5 }).merges.length, 6);
  const three = learnBpe(counts, { vocabSize: MIN_VOCAB_SIZE + 3 });
  assert.equal(three.tokens.length, MIN_VOCAB_SIZE + 3);
  assert.equal(three.stats.stopped, "vocab-size");

  // Ties between bytes go to the smaller ids: 'a' before 'b'. Overlaps merge left to right:
  // "aaa" has two (a, a) pairs, but becomes "aa a", not "aa aa".
  assert.deepEqual(
    learnBpe(
      new Map([
        ["ba", 3],
        ["ab", 3],
      ]),
      { vocabSize: 300 },
    ).merges,
    [
      ["a", "b"],
      ["b", "a"],
    ],
  );
  assert.deepEqual(learnBpe(new Map([["aaa", 2]]), { vocabSize: 300 }).merges, [
    ["a", "a"],
    ["aa", "a"],
  ]);
  // Words are bytes: a two-byte character is merged from its bytes; spaces are "Ġ".
  assert.deepEqual(learnBpe(new Map([[" é", 3]]), { vocabSize: 300 }).merges, [
    ["Ã", "©"],
    ["Ġ", "Ã©"],
  ]);
});

/** The definition, done the slow way: recount every pair after each merge. */
function referenceBpe(counts: Map<string, number>, vocabSize: number, minFrequency: number) {
  const tokens = [...SPECIAL_TOKENS, ...[...BYTE_TO_CHAR].sort()];
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const words = [...counts].map(([w, c]) => ({ s: [...toByteLevel(w)].map((ch) => ids.get(ch)!), c }));
  const merges: [string, string][] = [];
  while (tokens.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { s, c } of words)
      for (let i = 0; i + 1 < s.length; i++)
        pairs.set(`${s[i]},${s[i + 1]}`, (pairs.get(`${s[i]},${s[i + 1]}`) ?? 0) + c);
    let best: [number, number, number] | undefined;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(",").map(Number) as [number, number];
      if (!best || c > best[0] || (c === best[0] && (a < best[1] || (a === best[1] && b < best[2]))))
        best = [c, a, b];
    }
    if (!best || best[0] < Math.max(1, minFrequency)) break;
    const [, a, b] = best;
    const joined = tokens[a]! + tokens[b]!;
    if (!ids.has(joined)) {
      ids.set(joined, tokens.length);
      tokens.push(joined);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    const c = ids.get(joined)!;
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.s.length; i++)
        if (i + 1 < w.s.length && w.s[i] === a && w.s[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(w.s[i]!);
      w.s = out;
    }
  }
  return { tokens, merges };
}

test("incremental learning equals the recount-everything definition on random corpora", () => {
  const rand = mulberry32(7);
  // Few letters and long repeats: overlapping pairs and many ties.
  const alphabet = ["a", "b", "c", "é", " "];
  for (let trial = 0; trial < 30; trial++) {
    const counts = new Map<string, number>();
    for (let w = 0; w < 40; w++) {
      let word = "";
      const len = 2 + Math.floor(rand() * 8);
      for (let i = 0; i < len; i++) word += alphabet[Math.floor(rand() * alphabet.length)];
      counts.set(word, (counts.get(word) ?? 0) + 1 + Math.floor(rand() * 5));
    }
    const minFrequency = trial % 3;
    const vocabSize = MIN_VOCAB_SIZE + 5 + Math.floor(rand() * 80);
    const got = learnBpe(counts, { vocabSize, minFrequency });
    const want = referenceBpe(counts, vocabSize, minFrequency);
    assert.deepEqual(got.merges, want.merges, `trial ${trial}`);
    assert.deepEqual(got.tokens, want.tokens, `trial ${trial}`);
  }
});

test("WordCounts counts the split pattern's pieces", () => {
  const wc = new WordCounts();
  wc.add("the cat the cat");
  wc.add("the");
  assert.deepEqual(
    [...wc.counts],
    [
      ["the", 2],
      [" cat", 2],
      [" the", 1],
    ],
  );
  assert.equal(wc.words, 5);
});

test("a trained tokenizer round-trips any UTF-8 through loadTokenizer, with BOS first", async () => {
  const out = fresh("tok");
  const r = await trainTokenizer({ inputs: [corpus([CORPUS])], out, vocabSize: 400, minFrequency: 1 });
  assert.equal(r.stats.vocabSize, 400);
  const tok = await loadTokenizer(out);
  assert.equal(tok.vocabSize, 400);
  const samples = [
    CORPUS,
    "",
    " ",
    "  leading and trailing spaces  ",
    "\r\n\r\n\t\ttabs\tand CRLF\r\n",
    "e\u0301 a\u0308 combining marks; Z\u0351\u0352\u0353algo",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math ∀x ∈ ℝ, emoji 🧑🏽‍🚀 and 中文 never seen in training: Ωμέγα, Ж, ñ",
    "\u0000 NUL, \u007f DEL, \u00a0 NBSP, \ufeff BOM, \u2028 separator",
  ];
  // Random text over the whole of Unicode (surrogates excluded), astral planes included.
  const rand = mulberry32(1);
  for (let s = 0; s < 20; s++) {
    let text = "";
    for (let i = 0; i < 40; i++) {
      const cp = Math.floor(rand() * 0x110000);
      text += cp >= 0xd800 && cp < 0xe000 ? " " : String.fromCodePoint(cp);
    }
    samples.push(text);
  }
  for (const text of samples) {
    const ids = tok.encode(text);
    assert.equal(ids[0], 0, "BOS first");
    assert.ok(!ids.slice(1).includes(0), "one BOS");
    assert.deepEqual(tok.encode(text, { addSpecialTokens: false }), ids.slice(1));
    assert.equal(tok.decode(ids.slice(1)), text, JSON.stringify(text));
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), text);
    assert.equal(tok.decode(ids), BOS_TOKEN + text);
  }
  // Merges do their work: the training text takes far fewer tokens than bytes.
  assert.ok(tok.encode(CORPUS).length < Buffer.byteLength(CORPUS) / 2);
});

test("special tokens: ids 0 1 2, BOS added, EOS and PAD in the configs, read as special in text", async () => {
  const out = fresh("tok");
  await trainTokenizer({ inputs: [corpus([CORPUS])], out, vocabSize: 300, maxLength: 512 });
  const tok = await loadTokenizer(out);
  assert.equal(tok.bosId, 0);
  assert.deepEqual(tok.eosIds, [1]);
  assert.equal(tok.padId, 2);
  for (const [id, t] of [BOS_TOKEN, EOS_TOKEN, PAD_TOKEN].entries()) {
    assert.equal(tok.tokenToId(t), id);
    assert.equal(tok.idToToken(id), t);
  }
  const ids = tok.encode(`the fox${EOS_TOKEN}the dog${PAD_TOKEN}`);
  assert.equal(ids[0], 0);
  assert.equal(ids.filter((i) => i === 1).length, 1);
  assert.equal(ids.at(-1), 2);
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "the foxthe dog");

  const config = readJson(join(out, "tokenizer_config.json"));
  assert.equal(config.add_bos_token, true);
  assert.equal(config.add_eos_token, false);
  assert.equal(config.bos_token, BOS_TOKEN);
  assert.equal(config.eos_token, EOS_TOKEN);
  assert.equal(config.pad_token, PAD_TOKEN);
  assert.equal(config.model_max_length, 512);
  assert.equal(config.tokenizer_class, "PreTrainedTokenizerFast");
  assert.equal(config.clean_up_tokenization_spaces, false);
  assert.deepEqual(readJson(join(out, "special_tokens_map.json")), {
    bos_token: BOS_TOKEN,
    eos_token: EOS_TOKEN,
    pad_token: PAD_TOKEN,
  });
  assert.deepEqual(readdirSync(out).sort(), [...TOKENIZER_FILES].sort());
});

test("tokenizer.json loads in tokenizers.js as written: its post-processor adds BOS, both merge formats read", async () => {
  const out = fresh("tok");
  await trainTokenizer({ inputs: [corpus([CORPUS])], out, vocabSize: 350, minFrequency: 1 });
  const json = readJson(join(out, "tokenizer.json"));
  const model = json.model as { vocab: Record<string, number>; merges: [string, string][] };
  assert.equal(Object.keys(model.vocab).length, 350);
  // In the file, the vocabulary is in id order (JSON.parse moves integer-like keys such as "10" first).
  const text0 = readFileSync(join(out, "tokenizer.json"), "utf8");
  const vocabText = text0.slice(text0.indexOf('"vocab": {'), text0.indexOf('"merges": ['));
  assert.deepEqual(
    [...vocabText.matchAll(/: (\d+)/g)].map((m) => Number(m[1])),
    [...Array(350).keys()],
  );
  assert.ok(model.merges.every((m) => Array.isArray(m) && m.length === 2));
  // No tokenizer_config.json: the TemplateProcessing post-processor alone puts BOS first.
  const text = "The quick brown fox, 日本語 🎉";
  const hf = new HfTokenizer(json, {});
  const ids = hf.encode(text).ids as number[];
  assert.equal(ids[0], 0);
  assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, ids.slice(1));
  // The legacy "left right" merges format gives the same ids.
  const legacy = { ...json, model: { ...model, merges: model.merges.map((m) => m.join(" ")) } };
  assert.deepEqual(new HfTokenizer(legacy, {}).encode(text).ids, ids);
});

test("training is deterministic, whatever the order of the inputs", async () => {
  const texts = [CORPUS, "another file, with other words: quick quick quick", "a third\n\nfile\n"];
  const dir = corpus(texts);
  const files = texts.map((_, i) => join(dir, `doc${i}.txt`));
  const a = fresh("a");
  const b = fresh("b");
  await trainTokenizer({ inputs: files, out: a, vocabSize: 330 });
  await trainTokenizer({ inputs: [...files].reverse(), out: b, vocabSize: 330 });
  for (const f of TOKENIZER_FILES)
    assert.equal(readFileSync(join(a, f), "utf8"), readFileSync(join(b, f), "utf8"), f);
});

test("the vocabulary stops short when no pair is frequent enough, and says so", async () => {
  const r = await trainBpe({ inputs: [corpus(["abab abab"])], vocabSize: 4096 });
  assert.equal(r.stats.stopped, "min-frequency");
  assert.ok(r.stats.vocabSize < 4096);
  assert.equal(r.tokens.length, r.stats.vocabSize);
});

test("bad inputs are one-line errors, and an existing output is left as it was", async () => {
  const good = corpus([CORPUS]);
  const err =
    (re: RegExp, cls: typeof UsageError | typeof OutputError = UsageError) =>
    (e: unknown) =>
      e instanceof cls && re.test(e.message) && !e.message.includes("\n");
  for (const vocabSize of [0, 258, 4096.5, NaN, 2 ** 25])
    await assert.rejects(trainBpe({ inputs: [good], vocabSize }), err(/--vocab/));
  await assert.rejects(
    trainBpe({ inputs: [good], vocabSize: 300, minFrequency: -1 }),
    err(/--min-frequency/),
  );
  await assert.rejects(trainBpe({ inputs: [], vocabSize: 300 }), err(/name the text/));
  await assert.rejects(trainBpe({ inputs: [join(root, "nope.txt")], vocabSize: 300 }), err(/no such file/));
  const empty = fresh("empty");
  mkdirSync(empty);
  await assert.rejects(trainBpe({ inputs: [empty], vocabSize: 300 }), err(/no input files/));
  await assert.rejects(trainBpe({ inputs: [corpus(["", ""])], vocabSize: 300 }), err(/no text in/));
  const binary = corpus(["text"]);
  writeFileSync(join(binary, "blob.bin"), Buffer.from([0, 1, 2, 3]));
  await assert.rejects(trainBpe({ inputs: [join(binary, "blob.bin")], vocabSize: 300 }), err(/not a text/));
  await assert.rejects(trainBpe({ inputs: [good], vocabSize: 300, extensions: [] }), err(/--ext/));

  // An existing output: refused before anything is read, untouched; replaced with force only
  // when deepen wrote it.
  const mine = fresh("mine");
  mkdirSync(mine);
  writeFileSync(join(mine, "keep.txt"), "mine");
  for (const force of [false, true]) {
    await assert.rejects(
      trainTokenizer({ inputs: [good], out: mine, vocabSize: 300, force }),
      err(
        /--force will not replace .*not a model, run, report, tokenizer or data folder deepen wrote/,
        OutputError,
      ),
    );
  }
  assert.deepEqual(readdirSync(mine), ["keep.txt"]);
  assert.equal(readFileSync(join(mine, "keep.txt"), "utf8"), "mine");
  const out = fresh("existing");
  await trainTokenizer({ inputs: [good], out, vocabSize: 300 });
  const before = readFileSync(join(out, "tokenizer.json"));
  await assert.rejects(
    trainTokenizer({ inputs: [good], out, vocabSize: 280 }),
    err(/exists.*--force/, OutputError),
  );
  assert.deepEqual(readFileSync(join(out, "tokenizer.json")), before);
  // A failure while training leaves no output and no temporary folder.
  const missing = fresh("missing");
  await assert.rejects(
    trainTokenizer({ inputs: [corpus(["", ""])], out: missing, vocabSize: 300 }),
    err(/no text/),
  );
  assert.ok(!existsSync(missing));
  assert.ok(!readdirSync(root).some((f) => f.startsWith(".")), "no temporary folder left");
  await trainTokenizer({ inputs: [good], out, vocabSize: 300, force: true });
  assert.deepEqual(readdirSync(out).sort(), [...TOKENIZER_FILES].sort());
  // The output may not be inside an input folder.
  await assert.rejects(
    trainTokenizer({ inputs: [good], out: join(good, "tok"), vocabSize: 300 }),
    err(/inside the input/, OutputError),
  );
});

test("folders: text extensions by default, skipped files named; --ext picks others", async () => {
  const dir = corpus([CORPUS]);
  writeFileSync(join(dir, "meta.json"), "{}");
  writeFileSync(join(dir, "data.js"), "module.exports = 1;");
  const skipped: string[] = [];
  const d = await trainBpe({ inputs: [dir], vocabSize: 300, onSkip: (p) => skipped.push(p) });
  assert.equal(d.stats.files, 1);
  assert.deepEqual(skipped, [join(dir, "data.js"), join(dir, "meta.json")]);
  await assert.rejects(
    trainBpe({ inputs: [dir], vocabSize: 300, extensions: ["json"] }),
    /meta\.json: \.json is ambiguous/,
  );
  const r = await trainBpe({ inputs: [dir], vocabSize: 300, extensions: ["txt"] });
  assert.equal(r.stats.files, 1);
  // A file named directly is read whatever its extension.
  const js = await trainBpe({
    inputs: [join(dir, "data.js")],
    vocabSize: 300,
    minFrequency: 1,
    extensions: ["txt"],
  });
  assert.equal(js.stats.files, 1);
});

test("the pretraining cache turns each document into BOS text EOS with a trained tokenizer", async () => {
  const out = fresh("tok");
  const texts = ["first document", "second one"];
  const data = corpus(texts);
  await trainTokenizer({ inputs: [data], out, vocabSize: 300, minFrequency: 1 });
  const tok = await loadTokenizer(out);
  const { corpus: c } = await tokenizeCorpus([data], tok, { cacheDir: join(fresh("cache")) });
  try {
    assert.equal(c.documents, 2);
    for (let d = 0; d < 2; d++) {
      const ids = [...(await c.read(c.docStart(d), c.docLength(d)))];
      assert.equal(ids[0], 0);
      assert.equal(ids.at(-1), 1);
      assert.equal(tok.decode(ids.slice(1, -1)), texts[d]);
    }
  } finally {
    await c.close();
  }
});
