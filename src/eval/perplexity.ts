import { UsageError } from "../errors.js";
import type { DecoderModel } from "../nn/decoderModel.js";

export interface PerplexityOptions {
  /** Window length in tokens (the model sees at most this much left context). */
  context: number;
  /** Tokens the window advances by; default context / 2. */
  stride?: number;
  /** Windows per run. */
  batch?: number;
  /** Token used to fill the last, shorter window (its positions are not scored). */
  padId?: number;
  /** Always run windows of `context` tokens, padding a shorter text: one compiled graph for texts
   * of every length (scoring many documents), at the cost of computing the padding. */
  fixedWindow?: boolean;
  onProgress?: (scored: number, total: number) => void;
}

export interface PerplexityResult {
  tokens: number;
  nll: number;
  perplexity: number;
}

interface Window {
  begin: number;
  /** Targets ids[j] for j in (from, to] are scored in this window. */
  from: number;
  to: number;
}

/**
 * Sliding-window perplexity: every token after the first is scored exactly once. A window of
 * `context` tokens starting at `begin` predicts ids[begin + 1 .. begin + context]; it scores the
 * targets the previous windows did not, so each is predicted with the longest left context the
 * stride allows (at least context − stride tokens, except near the start).
 */
export function perplexityWindows(n: number, context: number, stride: number): Window[] {
  const windows: Window[] = [];
  let scored = 0; // highest target index scored so far
  for (let begin = 0; scored < n - 1; begin += stride) {
    const to = Math.min(begin + context, n - 1);
    windows.push({ begin, from: scored, to });
    scored = to;
  }
  return windows;
}

export async function perplexityOfTokens(
  model: DecoderModel,
  ids: number[],
  opts: PerplexityOptions,
): Promise<PerplexityResult> {
  const { context } = opts;
  const stride = opts.stride ?? Math.max(1, Math.floor(context / 2));
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1)
    throw new UsageError(`--batch ${batch}: must be a positive integer`);
  if (!Number.isInteger(context) || context < 1)
    throw new UsageError(`--context ${context}: must be a positive integer`);
  if (!Number.isInteger(stride) || stride < 1 || stride > context) {
    throw new UsageError(`--stride ${stride}: must be between 1 and the context (${context})`);
  }
  if (ids.length < 2)
    throw new UsageError(`the text has ${ids.length} token(s); perplexity needs at least 2`);
  const windows = perplexityWindows(ids.length, context, stride);
  // A text shorter than the context runs in one window of exactly its length (no padding to compute).
  const T = opts.fixedWindow ? context : Math.min(context, ids.length - 1);
  const pad = opts.padId ?? 0;
  let total = 0;
  let count = 0;
  for (let w0 = 0; w0 < windows.length; w0 += batch) {
    const group = windows.slice(w0, w0 + batch);
    while (group.length < batch && windows.length > batch) group.push(group[group.length - 1]!); // keep B fixed
    const tokens = group.map((w) => Array.from({ length: T }, (_, t) => ids[w.begin + t] ?? pad));
    const targets = group.map((w) => Array.from({ length: T }, (_, t) => ids[w.begin + t + 1] ?? pad));
    const nll = await model.nll(tokens, targets);
    group.forEach((w, b) => {
      if (w0 + b >= windows.length) return; // repeated filler window
      for (let j = w.from + 1; j <= w.to; j++) {
        total += nll[b * T + (j - 1 - w.begin)]!;
        count++;
      }
    });
    opts.onProgress?.(count, ids.length - 1);
  }
  const mean = total / count;
  return { tokens: count, nll: mean, perplexity: Math.exp(mean) };
}
