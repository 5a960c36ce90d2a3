// Token ids index rows of the model's embedding, and tokenizer.json gives them as plain numbers that
// nothing bounds: an id past the embedding reaches onnxruntime's Gather as an internal error, a
// negative one wraps to the last row (a wrong result with exit status 0), and an id of 1e9 makes
// tokenizers.js size an array by it (a hang). So every id the file assigns is checked once, before
// the tokenizer is built, against a named limit; loadTokenizer then checks the highest against the
// embedding's rows (config.json's vocab_size, which the engine checks against the tensor).

import { previewJson } from "../checkpoint/previewJson.js";
import { CheckpointError } from "../errors.js";

/**
 * Ids a tokenizer may assign: 0 to MAX_TOKEN_IDS − 1. The largest published vocabularies have
 * 262,144 entries (Gemma 3); 2^24 would be an embedding of 16.7M rows, which no model has, and an
 * array of that length is still quick to allocate.
 */
export const MAX_TOKEN_IDS = 1 << 24;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether `id` is a token id deepen can index an embedding with. */
export function isTokenId(id: unknown): id is number {
  return typeof id === "number" && Number.isInteger(id) && id >= 0 && id < MAX_TOKEN_IDS;
}

/**
 * The highest id tokenizer.json assigns: its model's vocabulary (a token → id object, or Unigram's
 * list whose positions are the ids), its added tokens, and the ids its post-processor inserts.
 * CheckpointError naming the first id that is not a token id.
 */
export function highestTokenId(file: string, tokenizer: Json): number {
  let highest = -1;
  const take = (id: unknown, where: string) => {
    if (!isTokenId(id))
      throw new CheckpointError(
        file,
        `${where} has id ${previewJson(id)}; token ids run from 0 to ${MAX_TOKEN_IDS - 1} (the limit for a vocabulary)`,
      );
    if (id > highest) highest = id;
  };
  const model = tokenizer.model;
  if (isObject(model)) {
    const vocab = model.vocab;
    if (Array.isArray(vocab)) {
      if (vocab.length > 0) take(vocab.length - 1, "model.vocab's last entry");
    } else if (isObject(vocab)) {
      for (const token in vocab)
        if (Object.prototype.hasOwnProperty.call(vocab, token))
          take(vocab[token], `token ${previewJson(token)}`);
    }
    if (model.unk_id !== undefined && model.unk_id !== null) take(model.unk_id, "model.unk_id");
  }
  if (Array.isArray(tokenizer.added_tokens))
    for (const t of tokenizer.added_tokens)
      take(isObject(t) ? t.id : undefined, `added token ${previewJson(isObject(t) ? t.content : t)}`);
  postProcessorIds(tokenizer.post_processor, take);
  return highest;
}

/** The ids a post-processor writes into every encoding (TemplateProcessing's special tokens, BERT and
 * RoBERTa's [CLS]/[SEP], each member of a Sequence). The JSON depth limit bounds the recursion. */
function postProcessorIds(p: unknown, take: (id: unknown, where: string) => void): void {
  if (!isObject(p)) return;
  if (p.type === "Sequence" && Array.isArray(p.processors)) {
    for (const q of p.processors) postProcessorIds(q, take);
    return;
  }
  if (isObject(p.special_tokens)) {
    for (const [name, t] of Object.entries(p.special_tokens))
      if (isObject(t) && Array.isArray(t.ids))
        for (const id of t.ids) take(id, `post_processor special token ${previewJson(name)}`);
  }
  for (const key of ["cls", "sep"]) {
    const pair = p[key];
    if (Array.isArray(pair) && pair.length === 2) take(pair[1], `post_processor ${key}`);
  }
}
