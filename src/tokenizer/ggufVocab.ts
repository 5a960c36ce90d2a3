// A model folder's tokenizer as llama.cpp's GGUF vocabulary (tokenizer.ggml.* keys). llama.cpp
// re-implements tokenizers by kind, so only kinds it has can be written: byte-level BPE ("gpt2")
// with a pre-tokenizer it recognises by name, SentencePiece-style BPE ("llama": byte fallback and ▁
// for spaces) and Unigram ("t5", llama.cpp's UGM). Anything else is refused, naming what it is.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { readJsonObject } from "../checkpoint/jsonFile.js";
import { previewJson } from "../checkpoint/previewJson.js";
import {
  ggufArray,
  ggufBool,
  ggufString,
  ggufU32,
  type GgufMetadata,
} from "../checkpoint/gguf/ggufMetadata.js";
import { CheckpointError } from "../errors.js";
import { findChatTemplate } from "./chatTemplate.js";
import {
  MAX_TOKENIZER_BYTES,
  MAX_TOKENIZER_CONFIG_BYTES,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
} from "./loadTokenizer.js";
import { GPT2_SPLIT_PATTERN } from "./byteLevel.js";
import { isTokenId, MAX_TOKEN_IDS } from "./tokenIds.js";

/** llama.cpp's token types (llama_token_type). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/**
 * Split regexes of byte-level pre-tokenizers, and the name llama.cpp's llama-vocab.cpp knows each
 * by (tokenizer.ggml.pre selects its own copy of the regex). From the published tokenizer.json files.
 */
export const KNOWN_SPLIT_PATTERNS: Readonly<Record<string, string>> = {
  [String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`]:
    "llama-bpe",
  [String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`]:
    "qwen2",
  [GPT2_SPLIT_PATTERN]: "gpt-2",
};

export interface GgufVocab {
  metadata: GgufMetadata;
  /** Tokens written, padding included (the embedding's rows). */
  tokens: number;
  /** "gpt2", "llama" or "t5" (tokenizer.ggml.model). */
  model: string;
  /** tokenizer.ggml.pre, for byte-level BPE. */
  pre?: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const describe = (v: unknown) => previewJson(v);

/** The byte-level pre-tokenizer's llama.cpp name, or an error saying what it is. */
function byteLevelPre(file: string, pre: unknown): string {
  const refuse = () =>
    new CheckpointError(
      file,
      `pre-tokenizer ${describe(pre)} is not one llama.cpp recognises (deepen writes GPT-2's ByteLevel regex, ` +
        "Llama 3's and Qwen 2's split regexes): a tokenizer type that cannot be expressed in GGUF",
    );
  if (!isObject(pre)) throw refuse();
  if (pre.type === "ByteLevel" && pre.use_regex !== false && pre.add_prefix_space !== true) return "gpt-2";
  if (pre.type === "Sequence" && Array.isArray(pre.pretokenizers) && pre.pretokenizers.length === 2) {
    const [split, bytes] = pre.pretokenizers as unknown[];
    if (
      isObject(split) &&
      split.type === "Split" &&
      isObject(bytes) &&
      bytes.type === "ByteLevel" &&
      bytes.use_regex === false &&
      bytes.add_prefix_space !== true
    ) {
      const pattern = isObject(split.pattern) ? split.pattern.Regex : undefined;
      const name = typeof pattern === "string" ? KNOWN_SPLIT_PATTERNS[pattern] : undefined;
      if (name && split.behavior === "Isolated" && split.invert !== true) return name;
    }
  }
  throw refuse();
}

/** Whether a BPE tokenizer is SentencePiece-style: byte fallback, or ▁ standing for spaces. */
function isSentencePieceStyle(tok: Json): boolean {
  const model = tok.model as Json;
  const text = JSON.stringify([tok.normalizer, tok.pre_tokenizer]);
  return model.byte_fallback === true || /"(Metaspace|Prepend)"/.test(text);
}

const SPACE_MARK = "\u2581";

/**
 * Refuses the normalizers and pre-tokenizers llama.cpp's SentencePiece-style tokenizers do not
 * apply: they only turn spaces into ▁ (and may prepend one), so anything else (NFKC, lowercasing,
 * digit or whitespace splits) would tokenize differently in llama.cpp without a word of warning.
 */
function checkSpaceMarkingOnly(file: string, tok: Json): void {
  const isMark = (v: unknown) => v === SPACE_MARK;
  const normalizerOk = (n: unknown): boolean =>
    n === null ||
    n === undefined ||
    (isObject(n) &&
      ((n.type === "Prepend" && isMark(n.prepend)) ||
        (n.type === "Replace" && isObject(n.pattern) && n.pattern.String === " " && isMark(n.content)) ||
        (n.type === "Sequence" && Array.isArray(n.normalizers) && n.normalizers.every(normalizerOk))));
  const preOk = (p: unknown): boolean =>
    p === null ||
    p === undefined ||
    (isObject(p) &&
      ((p.type === "Metaspace" && isMark(p.replacement)) ||
        (p.type === "Sequence" && Array.isArray(p.pretokenizers) && p.pretokenizers.every(preOk))));
  if (!normalizerOk(tok.normalizer))
    throw new CheckpointError(
      file,
      `normalizer ${describe(tok.normalizer)}: llama.cpp's SentencePiece-style tokenizers only mark spaces with ▁, ` +
        "a tokenizer type that cannot be expressed in GGUF",
    );
  if (!preOk(tok.pre_tokenizer))
    throw new CheckpointError(
      file,
      `pre-tokenizer ${describe(tok.pre_tokenizer)}: llama.cpp's SentencePiece-style tokenizers only mark spaces with ▁, ` +
        "a tokenizer type that cannot be expressed in GGUF",
    );
}

/** Whether spaces get a leading ▁ before the first word (Prepend normalizer or Metaspace prepend). */
function addsSpacePrefix(tok: Json): boolean {
  const text = JSON.stringify([tok.normalizer, tok.pre_tokenizer]);
  if (/"Prepend"/.test(text)) return true;
  const m = /"type":"Metaspace"[^}]*?"prepend_scheme":"(\w+)"/.exec(text);
  if (m) return m[1] !== "never";
  return /"add_prefix_space":true/.test(text);
}

/** Merges as "a b" strings; tokenizer.json stores them as strings or as [a, b] pairs. */
function mergeStrings(file: string, merges: unknown): string[] {
  if (merges === undefined) return [];
  if (!Array.isArray(merges)) throw new CheckpointError(file, "model.merges must be a list");
  return merges.map((m, i) => {
    if (typeof m === "string") return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string")
      return `${m[0]} ${m[1]}`;
    throw new CheckpointError(file, `model.merges[${i}] is ${describe(m)}, not "a b" or ["a", "b"]`);
  });
}

/** The special token `key` of tokenizer_config.json (a string or {content}) as text. */
function configToken(config: Json | undefined, key: string): string | undefined {
  const v = config?.[key];
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  return undefined;
}

/** Whether the post-processor's single-sequence template starts (or ends) with the token `id`. */
function templateAdds(tok: Json, text: string | undefined, where: "first" | "last"): boolean | undefined {
  const pp = tok.post_processor;
  if (!isObject(pp) || !text) return undefined;
  const procs = pp.type === "Sequence" && Array.isArray(pp.processors) ? pp.processors : [pp];
  for (const p of procs) {
    if (!isObject(p) || p.type !== "TemplateProcessing" || !Array.isArray(p.single)) continue;
    const items = p.single as unknown[];
    const item = where === "first" ? items[0] : items[items.length - 1];
    const special = isObject(item) && isObject(item.SpecialToken) ? item.SpecialToken.id : undefined;
    return special === text;
  }
  return undefined;
}

/**
 * Reads tokenizer.json (with tokenizer_config.json and chat_template.jinja when present) from `dir`
 * into tokenizer.ggml.* metadata with `rows` tokens: ids the tokenizer leaves unassigned below the
 * embedding's row count are written as unused [PAD{i}] tokens, as llama.cpp's converter does.
 */
export async function ggufVocab(
  dir: string,
  rows: number,
  fallbackIds: { bos?: number; eos?: number } = {},
): Promise<GgufVocab> {
  const file = join(dir, TOKENIZER_FILE);
  const tok = await readJsonObject(
    file,
    MAX_TOKENIZER_BYTES,
    ": GGUF export needs the model's tokenizer.json",
  );
  const configFile = join(dir, TOKENIZER_CONFIG_FILE);
  const config = existsSync(configFile)
    ? await readJsonObject(configFile, MAX_TOKENIZER_CONFIG_BYTES)
    : undefined;
  const model = tok.model;
  if (!isObject(model)) throw new CheckpointError(file, "has no model object");
  if (!isTokenId(rows) || rows < 1) throw new CheckpointError(file, `embedding rows ${rows} out of range`);

  const texts: (string | undefined)[] = new Array<string | undefined>(rows);
  const types = new Array<number>(rows).fill(TOKEN_TYPE.normal);
  const scores = new Array<number>(rows).fill(0);
  const place = (id: unknown, text: string, what: string) => {
    if (!isTokenId(id))
      throw new CheckpointError(file, `${what} has id ${describe(id)}, not 0 to ${MAX_TOKEN_IDS - 1}`);
    if (id >= rows)
      throw new CheckpointError(
        file,
        `${what} has id ${id}, past the embedding's ${rows} rows (config.json vocab_size)`,
      );
    texts[id] = text;
  };
  let kind: "gpt2" | "llama" | "t5";
  let pre: string | undefined;
  let merges: string[] = [];
  let spacePrefix = false;
  if (model.type === "BPE") {
    if (!isObject(model.vocab)) throw new CheckpointError(file, "model.vocab must be a token → id object");
    for (const [text, id] of Object.entries(model.vocab)) place(id, text, `token ${describe(text)}`);
    merges = mergeStrings(file, model.merges);
    if (isSentencePieceStyle(tok)) {
      checkSpaceMarkingOnly(file, tok);
      kind = "llama";
      spacePrefix = addsSpacePrefix(tok);
      // llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined token scores highest;
      // scoring each merge's result by its rank reproduces BPE's lowest-rank-first order.
      const vocab = model.vocab as Record<string, number>;
      for (let i = scores.length - 1; i >= 0; i--) scores[i] = -1e9;
      merges.forEach((m, rank) => {
        const id = vocab[m.replace(" ", "")];
        if (id !== undefined && scores[id] === -1e9) scores[id] = -rank;
      });
    } else {
      kind = "gpt2";
      pre = byteLevelPre(file, tok.pre_tokenizer);
      // llama.cpp fixes ignore_merges by the pre-tokenizer's name: on for llama-bpe only.
      if (model.ignore_merges === true && pre !== "llama-bpe")
        throw new CheckpointError(
          file,
          `ignore_merges is true, which llama.cpp applies only with Llama 3's pre-tokenizer (this one is ${pre}): ` +
            "a tokenizer type that cannot be expressed in GGUF",
        );
      if (
        tok.normalizer !== null &&
        tok.normalizer !== undefined &&
        !(isObject(tok.normalizer) && tok.normalizer.type === "NFC")
      ) {
        throw new CheckpointError(
          file,
          `normalizer ${describe(tok.normalizer)} has no llama.cpp equivalent for byte-level BPE: a tokenizer type that cannot be expressed in GGUF`,
        );
      }
    }
  } else if (model.type === "Unigram") {
    // llama.cpp's "llama" vocabulary merges pairs by score, which does not find Unigram's best
    // segmentation (measured: most words split differently); its "t5" vocabulary (UGM) does.
    kind = "t5";
    if (tok.normalizer !== null && tok.normalizer !== undefined)
      throw new CheckpointError(
        file,
        `Unigram normalizer ${describe(tok.normalizer)}: deepen does not write llama.cpp's precompiled character map yet, ` +
          "a tokenizer type that cannot be expressed in GGUF",
      );
    checkSpaceMarkingOnly(file, tok);
    spacePrefix = addsSpacePrefix(tok);
    if (!Array.isArray(model.vocab))
      throw new CheckpointError(file, "Unigram model.vocab must be a list of [piece, score]");
    (model.vocab as unknown[]).forEach((entry, id) => {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number")
        throw new CheckpointError(file, `model.vocab[${id}] is ${describe(entry)}, not [piece, score]`);
      place(id, entry[0], `piece ${describe(entry[0])}`);
      scores[id] = entry[1];
    });
    if (isTokenId(model.unk_id) && model.unk_id < rows) types[model.unk_id] = TOKEN_TYPE.unknown;
  } else {
    throw new CheckpointError(
      file,
      `tokenizer model ${describe(model.type)} is not one llama.cpp implements for decoders (BPE or Unigram): ` +
        "a tokenizer type that cannot be expressed in GGUF",
    );
  }
  if (kind !== "gpt2") {
    texts.forEach((t, id) => {
      if (t !== undefined && /^<0x[0-9A-F]{2}>$/.test(t)) types[id] = TOKEN_TYPE.byte;
    });
  }
  // BPE names its unknown token; Unigram gives its id.
  const unk =
    typeof model.unk_token === "string"
      ? model.unk_token
      : kind === "t5" && isTokenId(model.unk_id) && model.unk_id < rows
        ? texts[model.unk_id]
        : undefined;
  const added = Array.isArray(tok.added_tokens) ? (tok.added_tokens as unknown[]) : [];
  for (const a of added) {
    if (!isObject(a) || typeof a.content !== "string")
      throw new CheckpointError(file, `added token ${describe(a)} has no content`);
    place(a.id, a.content, `added token ${describe(a.content)}`);
    types[a.id as number] = a.special === true ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  }
  const idOf = new Map<string, number>();
  texts.forEach((t, id) => {
    if (t !== undefined && !idOf.has(t)) idOf.set(t, id);
  });
  if (unk !== undefined && idOf.has(unk)) types[idOf.get(unk)!] = TOKEN_TYPE.unknown;
  for (let id = 0; id < rows; id++) {
    if (texts[id] === undefined) {
      texts[id] = `[PAD${id}]`;
      types[id] = TOKEN_TYPE.unused;
    }
  }

  const meta: GgufMetadata = new Map();
  meta.set("tokenizer.ggml.model", ggufString(kind));
  meta.set("tokenizer.ggml.pre", ggufString(pre ?? "default"));
  meta.set("tokenizer.ggml.tokens", ggufArray(GGUFValueType.STRING, texts as string[]));
  if (kind !== "gpt2") meta.set("tokenizer.ggml.scores", ggufArray(GGUFValueType.FLOAT32, scores));
  meta.set("tokenizer.ggml.token_type", ggufArray(GGUFValueType.INT32, types));
  if (kind === "gpt2") meta.set("tokenizer.ggml.merges", ggufArray(GGUFValueType.STRING, merges));
  const special = (key: string, fallback?: number) => {
    const text = configToken(config, key);
    const id = text !== undefined ? idOf.get(text) : undefined;
    return id ?? fallback;
  };
  const bosText = configToken(config, "bos_token");
  const eosText = configToken(config, "eos_token");
  const ids: [string, number | undefined][] = [
    ["bos_token_id", special("bos_token", fallbackIds.bos)],
    ["eos_token_id", special("eos_token", fallbackIds.eos)],
    ["unknown_token_id", unk !== undefined ? idOf.get(unk) : special("unk_token")],
    ["padding_token_id", special("pad_token")],
  ];
  for (const [key, id] of ids) if (id !== undefined) meta.set(`tokenizer.ggml.${key}`, ggufU32(id));
  const addBos =
    typeof config?.add_bos_token === "boolean" ? config.add_bos_token : templateAdds(tok, bosText, "first");
  const addEos =
    typeof config?.add_eos_token === "boolean" ? config.add_eos_token : templateAdds(tok, eosText, "last");
  meta.set("tokenizer.ggml.add_bos_token", ggufBool(addBos ?? false));
  meta.set("tokenizer.ggml.add_eos_token", ggufBool(addEos ?? false));
  if (kind !== "gpt2") meta.set("tokenizer.ggml.add_space_prefix", ggufBool(spacePrefix));
  const template = await findChatTemplate(dir, configFile, config ?? {});
  if (template) meta.set("tokenizer.chat_template", ggufString(template.template));
  return { metadata: meta, tokens: rows, model: kind, pre };
}
