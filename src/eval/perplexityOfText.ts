import { stat } from "node:fs/promises";
import { type ListOptions, readDocuments } from "../data/corpus.js";
import { isEmbedded } from "../data/embeddedCorpus.js";
import { CheckpointError, UsageError } from "../errors.js";
import { DecoderModel } from "../nn/decoderModel.js";
import type { SessionOptions } from "../runtime/session.js";
import { loadTokenizer } from "../tokenizer/loadTokenizer.js";
import { perplexityOfTokens, type PerplexityOptions, type PerplexityResult } from "./perplexity.js";

/** Attention is O(context²) in memory; past this the default stops following the model's context. */
export const DEFAULT_CONTEXT_CAP = 4096;

export interface TextPerplexityOptions extends Partial<PerplexityOptions>, SessionOptions, ListOptions {}

export interface DataPerplexityResult extends PerplexityResult {
  /** Documents scored (those of fewer than two tokens are skipped). */
  documents: number;
}

/** The context `deepen eval` uses by default: the model's, capped at DEFAULT_CONTEXT_CAP. */
export function defaultContext(model: DecoderModel): number {
  return Math.min(model.decoder.config.max_position_embeddings ?? 2048, DEFAULT_CONTEXT_CAP);
}

/**
 * `deepen eval --perplexity`: the perplexity of a text file, a JSONL file, a folder of them or a
 * part of the embedded corpus (`embedded:heldout`). Each document is tokenized as the model's
 * tokenizer does (BOS where it adds one) and scored on its own with a sliding window; the result
 * is the mean NLL over every scored token of every document.
 */
export async function perplexityOfText(
  modelDir: string,
  path: string,
  opts: TextPerplexityOptions = {},
): Promise<DataPerplexityResult> {
  if (!isEmbedded(path)) {
    try {
      await stat(path);
    } catch (e) {
      throw new UsageError(
        `--perplexity ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
  }
  const tokenizer = await loadTokenizer(modelDir);
  const texts: number[][] = [];
  for await (const doc of readDocuments([path], { extensions: opts.extensions, onSkip: opts.onSkip })) {
    const ids = tokenizer.encode(doc.text);
    if (ids.length >= 2) texts.push(ids);
  }
  if (texts.length === 0)
    throw new UsageError(`--perplexity ${path}: no document of at least 2 tokens to score`);
  const model = await DecoderModel.load(modelDir, opts);
  try {
    const context = opts.context ?? defaultContext(model);
    const limit = model.decoder.config.max_position_embeddings;
    if (limit !== undefined && context > limit && !model.decoder.config.rope_scaling) {
      throw new UsageError(`--context ${context}: longer than the model's ${limit} positions`);
    }
    const padId = tokenizer.padId ?? tokenizer.eosIds[0] ?? 0;
    if (texts.length === 1) {
      const r = await perplexityOfTokens(model, texts[0]!, { ...opts, context, padId });
      return finite(modelDir, { ...r, documents: 1 });
    }
    const total = texts.reduce((s, ids) => s + ids.length - 1, 0);
    let nllSum = 0;
    let tokens = 0;
    for (const ids of texts) {
      const r = await perplexityOfTokens(model, ids, {
        ...opts,
        context,
        padId,
        fixedWindow: true,
        onProgress: (done) => opts.onProgress?.(tokens + done, total),
      });
      nllSum += r.nll * r.tokens;
      tokens += r.tokens;
    }
    const nll = nllSum / tokens;
    return finite(modelDir, { tokens, nll, perplexity: Math.exp(nll), documents: texts.length });
  } finally {
    await model.release();
  }
}

/** A NaN or infinite NLL is no measurement (JSON would print it as null): the model's outputs are
 * not finite, and that is an error, not a result. So is a perplexity past float64's range (a mean
 * NLL over ~709 nats per token, where a uniform guess over any real vocabulary costs under 13): its
 * logits are degenerate, and JSON would print that perplexity as null too. */
function finite(modelDir: string, r: DataPerplexityResult): DataPerplexityResult {
  if (!Number.isFinite(r.nll))
    throw new CheckpointError(
      modelDir,
      `the mean NLL is ${r.nll}: the model's outputs are not finite numbers (non-finite weights, or config.json values that make them so)`,
    );
  if (!Number.isFinite(r.perplexity))
    throw new CheckpointError(
      modelDir,
      `the mean NLL is ${r.nll.toFixed(1)} nats per token, so the perplexity is past the float range: the model's logits are degenerate (weights or config.json values that scale them)`,
    );
  return r;
}
