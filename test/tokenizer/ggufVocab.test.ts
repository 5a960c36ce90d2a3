import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { addedToken } from "../../src/tokenizer/writeTokenizerFiles.js";
import { metaString } from "../../src/checkpoint/gguf/ggufMetadata.js";
import { readGguf } from "../../src/checkpoint/gguf/readGguf.js";
import { exportGguf } from "../../src/surgery/exportGguf.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { ggufVocab, TOKEN_TYPE } from "../../src/tokenizer/ggufVocab.js";
import { CheckpointError } from "../../src/errors.js";
import { writeSyntheticModel } from "../fixtures/syntheticModel.js";
import { tempDir } from "../helpers.js";
import { llamaCpp } from "../llamaCpp.js";

const WORDS = "the quick brown fox jumps over the lazy dog and then the dog sleeps".split(" ");
/** Text with a character outside the vocabulary (é, € → byte fallback) and a double space. */
const TEXT = "the quick brown fox jumps over the café  dog for 5€ and then sleeps";

/**
 * A SentencePiece-style tokenizer.json as transformers writes Llama 2's: BPE with byte fallback,
 * spaces as ▁ with one prepended, <0xNN> byte tokens, merges built word by word.
 */
function spmTokenizer(): { tokenizer: unknown; size: number } {
  const vocab: Record<string, number> = {};
  const add = (t: string) => (vocab[t] ??= Object.keys(vocab).length);
  ["<unk>", "<s>", "</s>"].forEach(add);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  for (const c of new Set([...("▁" + WORDS.join("") + "5c")])) add(c);
  const merges: [string, string][] = [];
  for (const w of WORDS) {
    const chars = [...("▁" + w)];
    let left = chars[0]!;
    for (const c of chars.slice(1)) {
      if (vocab[left + c] === undefined) {
        merges.push([left, c]);
        add(left + c);
      }
      left += c;
    }
  }
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [addedToken("<unk>", 0), addedToken("<s>", 1), addedToken("</s>", 2)],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return { tokenizer, size: Object.keys(vocab).length };
}

test("a SentencePiece-style tokenizer.json exports as llama.cpp's llama vocabulary and tokenizes the same", async () => {
  const dir = tempDir();
  const { tokenizer, size } = spmTokenizer();
  await writeSyntheticModel(dir, { family: "llama", layers: 1, dtype: "F32", dims: { vocab: 352 } });
  assert.ok(size <= 352, `${size} tokens`);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer));
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({
      bos_token: "<s>",
      eos_token: "</s>",
      unk_token: "<unk>",
      add_bos_token: true,
      add_eos_token: false,
    }),
  );
  const file = join(tempDir(), "spm.gguf");
  const r = await exportGguf(dir, file, { dtype: "f32" });
  assert.equal(r.tokenizer.model, "llama");
  const g = await readGguf(file);
  assert.equal(metaString(g.metadata, "tokenizer.ggml.model"), "llama");
  const types = g.metadata.get("tokenizer.ggml.token_type")!.value as number[];
  assert.deepEqual(
    [types[0], types[1], types[3], types[300], types[351]],
    [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.byte, TOKEN_TYPE.normal, TOKEN_TYPE.unused],
  );

  const tok = await loadTokenizer(dir);
  const want = tok.encode(TEXT, { addSpecialTokens: false });
  assert.ok(
    want.some((id) => id >= 3 && id < 259),
    "the text exercises byte fallback",
  );
  const model = await (await llamaCpp()).loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    assert.deepEqual(model.tokenize(TEXT, false).map(Number), want);
    assert.equal(model.tokens.shouldPrependBosToken, true);
    assert.equal(Number(model.tokens.bos), 1);
  } finally {
    await model.dispose();
  }
});

/** A Unigram tokenizer.json (SentencePiece's other model) over the same words, scored by log-frequency. */
function unigramTokenizer(): unknown {
  const pieces: [string, number][] = [
    ["<unk>", 0],
    ["<s>", 0],
    ["</s>", 0],
  ];
  for (let b = 0; b < 256; b++) pieces.push([`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, 0]);
  const seen = new Set<string>();
  const add = (p: string, score: number) => {
    if (!seen.has(p)) pieces.push([p, score]);
    seen.add(p);
  };
  for (const c of new Set([...("▁" + WORDS.join("") + "5c")])) add(c, -8);
  WORDS.forEach((w, i) => {
    add("▁" + w, -2 - (i % 5) * 0.5);
    add(w.slice(0, 2), -4 - (i % 3));
    add("▁" + w.slice(0, 3), -5);
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [addedToken("<unk>", 0), addedToken("<s>", 1), addedToken("</s>", 2)],
    normalizer: null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    model: { type: "Unigram", unk_id: 0, vocab: pieces, byte_fallback: true },
  };
}

test("a Unigram tokenizer.json exports as llama.cpp's t5 (UGM) vocabulary and tokenizes the same", async () => {
  const dir = tempDir();
  await writeSyntheticModel(dir, { family: "llama", layers: 1, dtype: "F32", dims: { vocab: 352 } });
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(unigramTokenizer()));
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({ bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>" }),
  );
  const file = join(tempDir(), "u.gguf");
  const r = await exportGguf(dir, file, { dtype: "f32" });
  assert.equal(r.tokenizer.model, "t5");
  const tok = await loadTokenizer(dir);
  const model = await (await llamaCpp()).loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    // "thequick": no piece spans it, so the best segmentation is not the greedy one.
    for (const text of [TEXT, "the dog jumps over the lazy fox", "thequick brownfox"]) {
      assert.deepEqual(
        model.tokenize(text, false).map(Number),
        tok.encode(text, { addSpecialTokens: false }),
        text,
      );
    }
    assert.equal(model.tokens.shouldPrependBosToken, true); // from the post-processor's template
  } finally {
    await model.dispose();
  }
});

/** Merges whose results depend on how the pre-tokenizer splits digits, apostrophes and punctuation. */
const BYTE_MERGES: [string, string][] = [
  ["1", "2"],
  ["12", "3"],
  ["123", "4"],
  ["1234", "5"],
  ["Ġ", "t"],
  ["Ġt", "h"],
  ["Ġth", "e"],
  ["'", "s"],
  ["!", "!"],
  [",", "Ġ"],
  ["Ġ", "Ġ"],
];
const SPLITS: Record<string, string> = {
  "llama-bpe": String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  qwen2: String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
};
const byPre = new Map<string, string>();
const BYTE_TEXT = "In 12345, the dog's  bowl!! was 1234 the\nend,  THE 'S";

for (const pre of ["gpt-2", "llama-bpe", "qwen2"]) {
  test(`a byte-level BPE with ${pre}'s pre-tokenizer tokenizes the same in llama.cpp`, async () => {
    const dir = tempDir();
    await writeSyntheticModel(dir, { family: "qwen2", layers: 1, dtype: "F32" });
    const t = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as {
      model: { vocab: Record<string, number>; merges: unknown[] };
      pre_tokenizer: unknown;
      added_tokens: { id: number }[];
    };
    let next = 259;
    for (const [a, b] of BYTE_MERGES) t.model.vocab[a + b] ??= next++;
    t.model.merges = BYTE_MERGES;
    if (pre !== "gpt-2")
      t.pre_tokenizer = {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: SPLITS[pre] }, behavior: "Isolated", invert: false },
          { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      };
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(t));
    const file = join(tempDir(), "b.gguf");
    const r = await exportGguf(dir, file, { dtype: "f32" });
    assert.equal(r.tokenizer.pre, pre);
    const want = (await loadTokenizer(dir)).encode(BYTE_TEXT, { addSpecialTokens: false });
    assert.ok(
      want.some((id) => id >= 259),
      "merges apply",
    );
    byPre.set(pre, JSON.stringify(want));
    const model = await (await llamaCpp()).loadModel({ modelPath: file, gpuLayers: 0 });
    try {
      assert.deepEqual(model.tokenize(BYTE_TEXT, false).map(Number), want);
    } finally {
      await model.dispose();
    }
  });
}

test("the three pre-tokenizers split that text three ways, so each name above was checked", () => {
  assert.equal(new Set(byPre.values()).size, 3);
});

/** A folder holding only `tokenizer` as tokenizer.json. */
function tokenizerFolder(tokenizer: unknown): string {
  const dir = tempDir();
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer));
  return dir;
}

test("a Unigram vocabulary's unknown token comes from its unk_id when no config names it", async () => {
  const v = await ggufVocab(tokenizerFolder(unigramTokenizer()), 352);
  assert.equal(v.metadata.get("tokenizer.ggml.unknown_token_id")?.value, 0);
});

test("normalizers and pre-tokenizers llama.cpp does not apply are refused, never written", async () => {
  const refused = async (tokenizer: unknown, what: RegExp) =>
    assert.rejects(ggufVocab(tokenizerFolder(tokenizer), 352), (e: Error) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.match(e.message, what);
      assert.match(e.message, /cannot be expressed in GGUF/);
      return true;
    });
  const spm = spmTokenizer().tokenizer as Record<string, unknown>;
  await refused({ ...spm, normalizer: { type: "NFKC" } }, /normalizer .*NFKC/);
  await refused(
    { ...spm, pre_tokenizer: { type: "Digits", individual_digits: true } },
    /pre-tokenizer .*Digits/,
  );
  const uni = unigramTokenizer() as Record<string, unknown>;
  await refused({ ...uni, pre_tokenizer: { type: "WhitespaceSplit" } }, /pre-tokenizer .*WhitespaceSplit/);
  // A byte-level BPE that skips merges for whole-vocabulary words: llama.cpp does so only for llama-bpe.
  const dir = tempDir();
  await writeSyntheticModel(dir, { family: "llama", layers: 1, dtype: "F32" });
  const byteLevel = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as { model: object };
  await refused({ ...byteLevel, model: { ...byteLevel.model, ignore_merges: true } }, /ignore_merges/);
});
