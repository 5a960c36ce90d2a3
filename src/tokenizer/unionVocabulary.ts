// The output vocabulary of a merge whose models read different vocabularies, as mergekit's
// build_union_tokenizer makes it: the first vocabulary (the base model's, else the first model's)
// keeps its ids, and every token it lacks is appended as an added token with the next id. A fast
// tokenizer can hold new tokens only so (BPE and Unigram would need new merges or pieces to reach
// them from text), and it is what mergekit writes: an appended vocabulary token is matched in text
// as written in the vocabulary (a byte-level BPE token `Ġcat` by the text `Ġcat`, not ` cat`).
//
// Order of the appended ids: mergekit appends in the iteration order of a Python set of models and
// of each tokenizer's get_vocab() dict, which is not specified; here it is fixed: the vocabularies
// in config order (base first), first their ordinary tokens by id, then (as mergekit does, after
// all ordinary tokens) their added tokens by id with their own flags (special, normalized, …; the
// first vocabulary to add a token decides them), then the `tokens:` entries of the config that are
// in none (mergekit's add_tokens).
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readJsonObject } from "../checkpoint/jsonFile.js";
import {
  MAX_TOKENIZER_BYTES,
  MAX_TOKENIZER_CONFIG_BYTES,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
} from "./loadTokenizer.js";
import { tokensById, type Vocabulary } from "./vocabulary.js";

type Json = Record<string, unknown>;

export interface OutputVocabulary {
  /** The output's tokens by id. */
  tokens: string[];
  /** The added-token entries appended to the first vocabulary's tokenizer.json, with their ids. */
  appended: Json[];
}

/** transformers' add_tokens(text) entry: an ordinary (not special), normalized added token. */
const ordinary = (content: string): Json => ({
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: true,
  special: false,
});

/**
 * `first` (which keeps its ids) extended by `others`' tokens when `union`, and by `extra` tokens
 * (the config's `tokens:` keys) in any case.
 */
export function outputVocabulary(
  first: Vocabulary,
  others: Vocabulary[],
  union: boolean,
  extra: Iterable<string>,
): OutputVocabulary {
  const tokens = tokensById(first);
  const have = new Set(tokens);
  const appended: Json[] = [];
  const append = (entry: Json) => {
    const content = entry.content as string;
    if (have.has(content)) return;
    have.add(content);
    appended.push({ id: tokens.length, ...entry, content });
    tokens.push(content);
  };
  if (union) {
    const all = [first, ...others];
    const addedAnywhere = new Set(all.flatMap((v) => [...v.added.keys()]));
    const byId = (v: Vocabulary, keep: (t: string) => boolean) =>
      [...v.ids].filter(([t]) => keep(t)).sort((x, y) => x[1] - y[1]);
    for (const v of all) for (const [t] of byId(v, (t) => !addedAnywhere.has(t))) append(ordinary(t));
    for (const v of all) {
      for (const [t] of byId(v, (t) => v.added.has(t))) {
        // The entry's flags; append() gives it its new id.
        const flags = Object.fromEntries(Object.entries(v.added.get(t)!).filter(([k]) => k !== "id"));
        append({ ...flags, content: t });
      }
    }
  }
  for (const t of extra) append(ordinary(t));
  return { tokens, appended };
}

/** Files that describe a vocabulary beside tokenizer.json, dropped when tokens are appended to it. */
export const SLOW_TOKENIZER_FILES = [
  "tokenizer.model",
  "vocab.json",
  "merges.txt",
  "vocab.txt",
  "added_tokens.json",
];

/**
 * Appends `appended` to the tokenizer files in `dir` (carried there from the first vocabulary's
 * model): tokenizer.json's added_tokens, and tokenizer_config.json's added_tokens_decoder when it
 * has one (transformers lists every added token there).
 */
export async function appendAddedTokens(dir: string, appended: Json[]): Promise<void> {
  if (appended.length === 0) return;
  // The slow tokenizer's files (and added_tokens.json) would still describe the vocabulary without
  // the appended tokens; transformers and llama.cpp's converter read tokenizer.json without them.
  for (const stale of SLOW_TOKENIZER_FILES) await rm(join(dir, stale), { force: true });
  const file = join(dir, TOKENIZER_FILE);
  const tok = await readJsonObject(file, MAX_TOKENIZER_BYTES);
  tok.added_tokens = [...(Array.isArray(tok.added_tokens) ? tok.added_tokens : []), ...appended];
  await writeFile(file, JSON.stringify(tok, null, 2) + "\n");
  const configFile = join(dir, TOKENIZER_CONFIG_FILE);
  if (!existsSync(configFile)) return;
  const config = await readJsonObject(configFile, MAX_TOKENIZER_CONFIG_BYTES);
  const decoder = config.added_tokens_decoder;
  if (typeof decoder !== "object" || decoder === null || Array.isArray(decoder)) return;
  for (const { id, ...entry } of appended) (decoder as Json)[String(id)] = entry;
  await writeFile(configFile, JSON.stringify(config, null, 2) + "\n");
}
