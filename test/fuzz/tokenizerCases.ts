// Corrupted variants of model A's tokenizer files: token ids past the embedding (vocab_size, 1e9,
// 2^31), negative, fractional or of the wrong type, in the vocabulary and the added tokens;
// deleted tokens and files; unknown model types; tokenizer_config.json values; nesting,
// truncation and bit flips. A tokenizer whose ids do not fit the embedding must be refused by
// eval (issue 15, item 3); surgery and merges copy tokenizer files, so their tensors must not move.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  ANY,
  type Clean,
  type Command,
  type Expect,
  FAIL,
  flip,
  linearMergeYaml,
  MODEL_COMMANDS,
  modelCommand,
  nested,
  type Prepared,
  PROTO_KEYS,
  SAME,
  sameValue,
  type Workspace,
} from "./cases.js";

export type TokenizerMutation =
  | { m: "vocab-id"; token: number; value: string }
  | { m: "added-id"; index: number; value: string }
  | { m: "delete-vocab"; token: number }
  | { m: "model-type"; value: string }
  | { m: "extra-key"; key: string; value: string }
  | { m: "nest"; where: "extra" | "model" | "vocab"; depth: number; obj: boolean }
  | { m: "truncate"; pos: number }
  | { m: "bitflip"; pos: number; bit: number }
  | { m: "delete-file"; file: string }
  | { m: "tokenizer-config"; key: string; value: string };

export interface TokenizerCase {
  target: "tokenizer";
  command: Command;
  mut: TokenizerMutation;
}

const IDS = [
  "288",
  "289",
  "1000",
  "1000000000",
  "1e9",
  "2147483648",
  "4294967296",
  "-1",
  "-288",
  "1.5",
  '"5"',
  "null",
  "0",
  "255",
  "287",
];

export const tokenizerMutation: fc.Arbitrary<TokenizerMutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ m: fc.constant("vocab-id"), token: fc.nat(), value: fc.constantFrom(...IDS) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      m: fc.constant("added-id"),
      index: fc.nat({ max: 2 }),
      value: fc.constantFrom(...IDS),
    }),
  },
  fc.record({ m: fc.constant("delete-vocab"), token: fc.nat() }),
  fc.record({
    m: fc.constant("model-type"),
    value: fc.constantFrom('"WordPiece"', '"Unigram"', '"WordLevel"', '"fuzz"', '"constructor"', "1", "null"),
  }),
  fc.record({
    m: fc.constant("extra-key"),
    key: fc.constantFrom(...PROTO_KEYS, "fuzz"),
    value: fc.constantFrom("1", "null", '{"model": {"type": "WordPiece"}}', '"x"'),
  }),
  fc.record({
    m: fc.constant("nest"),
    where: fc.constantFrom("extra", "model", "vocab"),
    depth: fc.constantFrom(1, 2, 100, 10_000, 100_000),
    obj: fc.boolean(),
  }),
  fc.record({ m: fc.constant("truncate"), pos: fc.nat() }),
  fc.record({ m: fc.constant("bitflip"), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    m: fc.constant("delete-file"),
    file: fc.constantFrom("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"),
  }),
  fc.record({
    m: fc.constant("tokenizer-config"),
    key: fc.constantFrom(
      "bos_token",
      "eos_token",
      "add_bos_token",
      "model_max_length",
      "chat_template",
      "__proto__",
      "constructor",
    ),
    value: fc.constantFrom(
      '"<fuzz>"',
      '"constructor"',
      "1",
      "-1",
      "1e9",
      "1e400",
      "null",
      "true",
      "[]",
      "{}",
      '{"content": 1}',
    ),
  }),
) as fc.Arbitrary<TokenizerMutation>;

export const tokenizerCase: fc.Arbitrary<TokenizerCase> = fc.record({
  target: fc.constant("tokenizer" as const),
  command: fc.constantFrom(...MODEL_COMMANDS),
  mut: tokenizerMutation,
});

const RAW = "@@FUZZRAW@@";
/** JSON text of `obj` with the placeholder string replaced by raw JSON text. */
const withRaw = (obj: unknown, raw: string) => JSON.stringify(obj, null, 2).replace(`"${RAW}"`, () => raw);

/** What eval must make of a tokenizer.json: refused when unreadable or when an id misses the embedding. */
export function tokenizerExpect(text: string | undefined, clean: Clean): Expect {
  if (text === undefined) return FAIL("tokenizer.json is missing");
  let t: unknown;
  try {
    t = JSON.parse(text);
  } catch {
    return FAIL("tokenizer.json is not JSON");
  }
  if (sameValue(t, clean.tokenizer)) return SAME;
  if (typeof t !== "object" || t === null || Array.isArray(t)) return FAIL("tokenizer.json is not an object");
  const tok = t as { model?: { vocab?: unknown }; added_tokens?: unknown };
  const vocab = tok.model?.vocab;
  const ids: unknown[] = [];
  if (typeof vocab === "object" && vocab !== null && !Array.isArray(vocab)) ids.push(...Object.values(vocab));
  if (Array.isArray(tok.added_tokens))
    for (const a of tok.added_tokens)
      if (typeof a === "object" && a !== null) ids.push((a as { id?: unknown }).id);
  const bad = ids.find(
    (id) => !(typeof id === "number" && Number.isInteger(id) && id >= 0 && id < clean.vocabSize),
  );
  if (bad !== undefined || ids.some((id) => id === undefined))
    return FAIL(`token id ${shortJson(bad)} outside the ${clean.vocabSize}-row embedding`);
  return ANY;
}

export function prepareTokenizer(c: TokenizerCase, ws: Workspace, clean: Clean): Prepared {
  const mut = c.mut;
  const tokFile = join(ws.a, "tokenizer.json");
  const tok = structuredClone(clean.tokenizer) as {
    model: { vocab: Record<string, unknown>; type: unknown };
    added_tokens: { id: unknown }[];
    [k: string]: unknown;
  };
  const vocabKeys = Object.keys(tok.model.vocab);
  let text: string | undefined;
  let bytes: Buffer | undefined;
  let detail: string;
  let evalExpect: Expect | undefined;
  switch (mut.m) {
    case "vocab-id": {
      const key = vocabKeys[mut.token % vocabKeys.length]!;
      const was = tok.model.vocab[key];
      tok.model.vocab[key] = RAW;
      text = withRaw(tok, mut.value);
      detail = `vocab id of ${JSON.stringify(key)} ${String(was)} -> ${mut.value}`;
      break;
    }
    case "added-id":
      tok.added_tokens[mut.index]!.id = RAW;
      text = withRaw(tok, mut.value);
      detail = `added_tokens[${mut.index}].id -> ${mut.value}`;
      break;
    case "delete-vocab": {
      const key = vocabKeys[mut.token % vocabKeys.length]!;
      delete tok.model.vocab[key];
      text = JSON.stringify(tok, null, 2);
      detail = `vocab entry ${JSON.stringify(key)} deleted`;
      break;
    }
    case "model-type":
      tok.model.type = RAW;
      text = withRaw(tok, mut.value);
      detail = `model.type -> ${mut.value}`;
      break;
    case "extra-key":
      // Written as text so that "__proto__" is a key of the file, as a tokenizer.json could hold it.
      text = JSON.stringify(tok, null, 2).replace(/\n}$/, `,\n  ${JSON.stringify(mut.key)}: ${mut.value}\n}`);
      detail = `top-level key ${mut.key}: ${mut.value}`;
      break;
    case "nest": {
      const deep = nested(mut.depth, "1", mut.obj);
      if (mut.where === "extra") tok.fuzz = RAW;
      else if (mut.where === "model") tok.model = RAW as unknown as typeof tok.model;
      else tok.model.vocab[vocabKeys[0]!] = RAW;
      text = withRaw(tok, deep);
      detail = `${mut.where === "extra" ? "new key fuzz" : mut.where === "model" ? "model" : `vocab id of ${vocabKeys[0]}`} = ${mut.depth} levels of nested ${mut.obj ? "objects" : "arrays"}`;
      break;
    }
    case "truncate": {
      const len = mut.pos % clean.tokenizerText.length;
      text = clean.tokenizerText.slice(0, len);
      detail = `tokenizer.json truncated to ${len} of ${clean.tokenizerText.length} characters`;
      break;
    }
    case "bitflip": {
      const src = Buffer.from(clean.tokenizerText, "utf8");
      const pos = mut.pos % src.length;
      bytes = flip(src, pos, mut.bit);
      text = bytes.toString("utf8");
      detail = `tokenizer.json byte ${pos} bit ${mut.bit} flipped: ${JSON.stringify(src.subarray(Math.max(0, pos - 10), pos + 10).toString("latin1"))} -> ${JSON.stringify(bytes.subarray(Math.max(0, pos - 10), pos + 10).toString("latin1"))}`;
      break;
    }
    case "delete-file":
      rmSync(join(ws.a, mut.file));
      detail = `${mut.file} deleted`;
      text = mut.file === "tokenizer.json" ? undefined : clean.tokenizerText;
      if (mut.file !== "tokenizer.json") evalExpect = ANY;
      break;
    case "tokenizer-config": {
      const file = join(ws.a, "tokenizer_config.json");
      // The fixture's own file, one key changed.
      const cfg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      const pairs = Object.entries(cfg).map(([k, v]): [string, string] => [k, JSON.stringify(v)]);
      const i = pairs.findIndex(([k]) => k === mut.key);
      if (i >= 0) pairs[i] = [mut.key, mut.value];
      else pairs.push([mut.key, mut.value]);
      writeFileSync(file, `{\n${pairs.map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`).join(",\n")}\n}\n`);
      detail = `tokenizer_config.json ${mut.key} = ${mut.value}`;
      text = clean.tokenizerText;
      evalExpect = ANY; // the tokenizer's ids are untouched; what a special token means is the file's business
      break;
    }
  }
  if (mut.m !== "delete-file" && mut.m !== "tokenizer-config") writeFileSync(tokFile, bytes ?? text!);
  if (c.command === "merge") writeFileSync(ws.yaml, linearMergeYaml(ws));
  const expect: Expect =
    c.command === "inspect"
      ? ANY
      : c.command === "eval"
        ? (evalExpect ?? tokenizerExpect(text, clean))
        : SAME;
  return {
    ...modelCommand(c.command, ws),
    kind: `${mut.m}${"where" in mut ? `/${mut.where}` : ""}${mut.m === "delete-file" ? `/${mut.file}` : ""}`,
    detail,
    expect,
    writesOutput: c.command === "upscale" || c.command === "merge",
    finiteOutput: true,
  };
}

/** A value for a message: nesting 100,000 deep (a case's own corruption) overflows JSON.stringify. */
function shortJson(v: unknown): string {
  if (typeof v !== "object" || v === null) return JSON.stringify(v) ?? "undefined";
  return Array.isArray(v) ? "an array" : "an object";
}
