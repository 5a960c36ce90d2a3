import { readFile, stat } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { DecoderModel } from "../nn/decoderModel.js";
import type { SessionOptions } from "../runtime/session.js";
import { loadTokenizer } from "../tokenizer/loadTokenizer.js";
import { perplexityOfTokens, type PerplexityOptions, type PerplexityResult } from "./perplexity.js";

/** Attention is O(context²) in memory; past this the default stops following the model's context. */
export const DEFAULT_CONTEXT_CAP = 4096;
/** An evaluation text is read whole to be tokenized; a larger file is more likely a mistake than a text. */
export const MAX_TEXT_BYTES = 1 << 30;

export interface TextPerplexityOptions extends Partial<PerplexityOptions>, SessionOptions {}

/** The context `deepen eval` uses by default: the model's, capped at DEFAULT_CONTEXT_CAP. */
export function defaultContext(model: DecoderModel): number {
  return Math.min(model.decoder.config.max_position_embeddings ?? 2048, DEFAULT_CONTEXT_CAP);
}

/** `deepen eval --perplexity`: tokenizes `file` as the model's tokenizer does (BOS where it adds one) and scores it. */
export async function perplexityOfText(
  modelDir: string,
  file: string,
  opts: TextPerplexityOptions = {},
): Promise<PerplexityResult> {
  let size: number;
  let isFile: boolean;
  try {
    const st = await stat(file);
    size = st.size;
    isFile = st.isFile();
  } catch (e) {
    throw new UsageError(
      `--perplexity ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  if (!isFile) throw new UsageError(`--perplexity ${file}: not a file`);
  if (size > MAX_TEXT_BYTES)
    throw new UsageError(`--perplexity ${file}: ${size} bytes, over the ${MAX_TEXT_BYTES}-byte limit`);
  const text = await readFile(file, "utf8");
  const tokenizer = await loadTokenizer(modelDir);
  const ids = tokenizer.encode(text);
  const model = await DecoderModel.load(modelDir, opts);
  try {
    const context = opts.context ?? defaultContext(model);
    const limit = model.decoder.config.max_position_embeddings;
    if (limit !== undefined && context > limit && !model.decoder.config.rope_scaling) {
      throw new UsageError(`--context ${context}: longer than the model's ${limit} positions`);
    }
    return await perplexityOfTokens(model, ids, {
      ...opts,
      context,
      padId: tokenizer.padId ?? tokenizer.eosIds[0] ?? 0,
    });
  } finally {
    await model.release();
  }
}
