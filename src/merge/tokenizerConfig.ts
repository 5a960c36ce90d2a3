// mergekit's vocabulary settings, read into typed form: `tokenizer_source` (base, union, a model of
// the config as `model:NAME` or NAME) or the `tokenizer` section (source, per-token embedding
// sources with `force`, pad_to_multiple_of). mergekit's TokenizerConfig is the reference for keys
// and defaults: the section's source defaults to union.
import type { RecipeError } from "../errors.js";
import { isMapping, modelRef } from "../mergekit/mergekitYaml.js";
import { MAX_TOKEN_IDS } from "../tokenizer/tokenIds.js";

/** Where the output's vocabulary comes from. */
export type VocabularySource = { kind: "union" } | { kind: "base" } | { kind: "model"; model: string };

/** Where a token's default embedding row comes from (mergekit's TokenEmbeddingConfig.source). */
export type TokenSource =
  | { kind: "zero" }
  /** The row of another token (by text or id) of `model`'s own vocabulary. */
  | { kind: "model_token"; model: string; token?: string; tokenId?: number }
  /** The same token's row in `model`. */
  | { kind: "model"; model: string };

export interface TokenSetting {
  source: TokenSource;
  /** Every model takes the configured row, even those that have the token. */
  force: boolean;
}

export interface TokenizerSpec {
  source: VocabularySource;
  /** Per-token settings, in the order written (a Map: a token may be spelt `__proto__`). */
  tokens: Map<string, TokenSetting>;
  padToMultipleOf?: number;
  /** Written as the tokenizer section (not tokenizer_source). */
  section: boolean;
}

/**
 * The largest pad_to_multiple_of: 2^16. Vocabularies are padded to 64 or 128 for GPU kernels; a
 * multiple past 65,536 would add more padding rows than most vocabularies have tokens.
 */
export const MAX_PAD_MULTIPLE = 1 << 16;

/** mergekit documents `model:NAME`; its parser takes a bare NAME as a model reference too. */
export function parseTokenizerSource(
  v: unknown,
  where: string,
  fail: (d: string) => RecipeError,
): VocabularySource {
  if (v === "union") return { kind: "union" };
  if (v === "base") return { kind: "base" };
  if (typeof v === "string" && v.startsWith("model:"))
    return { kind: "model", model: modelRef(v.slice("model:".length), where, fail) };
  if (typeof v !== "string" && !isMapping(v)) throw fail(`${where} must be base, union or a model`);
  return { kind: "model", model: modelRef(v, where, fail) };
}

const SECTION_KEYS = new Set(["source", "tokens", "pad_to_multiple_of"]);

export function parseTokenizerSection(v: unknown, fail: (d: string) => RecipeError): TokenizerSpec {
  if (!isMapping(v)) throw fail("tokenizer must be a mapping (source, tokens, pad_to_multiple_of)");
  for (const k of Object.keys(v)) if (!SECTION_KEYS.has(k)) throw fail(`tokenizer: unknown key ${k}`);
  const source =
    v.source === undefined
      ? { kind: "union" as const }
      : parseTokenizerSource(v.source, "tokenizer.source", fail);
  const pad = v.pad_to_multiple_of;
  if (
    pad !== undefined &&
    pad !== null &&
    (typeof pad !== "number" || !Number.isInteger(pad) || pad < 1 || pad > MAX_PAD_MULTIPLE)
  )
    throw fail(`tokenizer.pad_to_multiple_of must be an integer from 1 to ${MAX_PAD_MULTIPLE}`);
  const tokens = new Map<string, TokenSetting>();
  if (v.tokens !== undefined && v.tokens !== null) {
    if (!isMapping(v.tokens)) throw fail("tokenizer.tokens must be a mapping of token to settings");
    for (const [token, setting] of Object.entries(v.tokens))
      tokens.set(token, tokenSetting(setting, `tokenizer.tokens.${token}`, fail));
  }
  return {
    source,
    tokens,
    ...(typeof pad === "number" && { padToMultipleOf: pad }),
    section: true,
  };
}

function tokenSetting(v: unknown, where: string, fail: (d: string) => RecipeError): TokenSetting {
  if (!isMapping(v)) throw fail(`${where} must be a mapping (source, force)`);
  for (const k of Object.keys(v))
    if (k !== "source" && k !== "force") throw fail(`${where}: unknown key ${k}`);
  if (v.force !== undefined && typeof v.force !== "boolean")
    throw fail(`${where}.force must be true or false`);
  // mergekit accepts a missing source and then fails when the row is computed: refused here.
  if (v.source === undefined || v.source === null) throw fail(`${where} needs a source`);
  return { source: tokenSource(v.source, `${where}.source`, fail), force: v.force === true };
}

function tokenSource(v: unknown, where: string, fail: (d: string) => RecipeError): TokenSource {
  if (typeof v === "string") return { kind: "model", model: modelRef(v, where, fail) };
  if (!isMapping(v)) throw fail(`${where} must be a model, {kind: zero} or {kind: model_token, …}`);
  // mergekit's long model form {model: {path}} is a model reference, not a kind.
  if (v.kind === undefined && isMapping(v.model)) return { kind: "model", model: modelRef(v, where, fail) };
  if (v.kind === "zero") {
    for (const k of Object.keys(v)) if (k !== "kind") throw fail(`${where}: unknown key ${k}`);
    return { kind: "zero" };
  }
  if (v.kind !== "model_token") throw fail(`${where}.kind must be zero or model_token`);
  for (const k of Object.keys(v))
    if (!["kind", "model", "token", "token_id"].includes(k)) throw fail(`${where}: unknown key ${k}`);
  const model = modelRef(v.model, `${where}.model`, fail);
  if ((v.token === undefined) === (v.token_id === undefined))
    throw fail(`${where}: give token or token_id (one of them)`);
  if (v.token !== undefined) {
    if (typeof v.token !== "string") throw fail(`${where}.token must be a string`);
    return { kind: "model_token", model, token: v.token };
  }
  const id = v.token_id;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= MAX_TOKEN_IDS)
    throw fail(`${where}.token_id must be a token id (0 to ${MAX_TOKEN_IDS - 1})`);
  return { kind: "model_token", model, tokenId: id };
}
