// A tokenizer's vocabulary as tokenizer.json states it: every token's id (the model's vocabulary —
// an object of token → id for BPE, WordPiece and WordLevel, a list of [piece, score] for Unigram —
// and the added tokens), and the added tokens' entries. This is what transformers' get_vocab() and
// added_tokens_decoder give, which is what mergekit builds its vocabulary merges from.
import { join } from "node:path";
import { readJsonObject } from "../checkpoint/jsonFile.js";
import { previewJson } from "../checkpoint/previewJson.js";
import { CheckpointError } from "../errors.js";
import { MAX_TOKENIZER_BYTES, TOKENIZER_FILE } from "./loadTokenizer.js";
import { highestTokenId } from "./tokenIds.js";

type Json = Record<string, unknown>;

export interface Vocabulary {
  file: string;
  /** token → id, the added tokens included (an added token's id wins over the model's). */
  ids: Map<string, number>;
  /** The added tokens' entries (content, special, normalized, …) by content. */
  added: Map<string, Json>;
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The vocabulary of `dir`'s tokenizer.json. */
export async function readVocabulary(dir: string): Promise<Vocabulary> {
  const file = join(dir, TOKENIZER_FILE);
  const json = await readJsonObject(
    file,
    MAX_TOKENIZER_BYTES,
    ": vocabularies are merged from tokenizer.json",
  );
  highestTokenId(file, json); // every id is a token id before any is used
  const ids = new Map<string, number>();
  const model = json.model;
  if (!isObject(model)) throw new CheckpointError(file, "has no model object");
  if (Array.isArray(model.vocab)) {
    model.vocab.forEach((piece, id) => {
      if (!Array.isArray(piece) || typeof piece[0] !== "string")
        throw new CheckpointError(file, `model.vocab[${id}] is not a [piece, score] pair`);
      ids.set(piece[0], id);
    });
  } else if (isObject(model.vocab)) {
    for (const [token, id] of Object.entries(model.vocab)) ids.set(token, id as number);
  } else {
    throw new CheckpointError(file, "model.vocab is neither a token → id object nor a list of pieces");
  }
  const added = new Map<string, Json>();
  for (const entry of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    if (!isObject(entry) || typeof entry.content !== "string")
      throw new CheckpointError(file, `added token ${previewJson(entry)} has no content`);
    ids.set(entry.content, entry.id as number);
    added.set(entry.content, entry);
  }
  return { file, ids, added };
}

/** The vocabulary without the tokens whose ids are `rows` or more (past the model's embedding), as mergekit strips them. */
export function withinRows(v: Vocabulary, rows: number): Vocabulary {
  const ids = new Map([...v.ids].filter(([, id]) => id < rows));
  const added = new Map([...v.added].filter(([t]) => ids.has(t)));
  return { file: v.file, ids, added };
}

/** Tokens by id: the vocabulary's ids must run from 0 without a gap (each is a row of the output). */
export function tokensById(v: Vocabulary): string[] {
  const out: string[] = [];
  for (const [token, id] of v.ids) out[id] = token;
  for (let id = 0; id < out.length; id++)
    if (out[id] === undefined)
      throw new CheckpointError(v.file, `assigns no token to id ${id}: an output vocabulary needs every id`);
  return out;
}
