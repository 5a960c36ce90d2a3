// Scoring token sequences under a model, forward only, by a function of each sequence's per-token
// log-probabilities: batched by length so a run pads little, and only the score of each kept.

import type { DecoderModel } from "../../nn/decoderModel.js";
import { paddedRows } from "../../train/sft/sftBatcher.js";

/**
 * Tokens a run holds at most (rows × row length): the logits of a run are [rows, length, vocabulary]
 * floats, 2.5 GB at 4096 positions of a 152k vocabulary, so long sequences run a few at a time
 * however many rows are allowed.
 */
export const MAX_RUN_TOKENS = 4096;

/**
 * Row lengths a run is padded to: powers of two from 16 up to `longest`, and `longest` itself. Each
 * length compiles one graph; powers of two keep that to a handful while padding at most doubles a row.
 */
export function rowLengths(longest: number): number[] {
  const out: number[] = [];
  for (let t = 16; t < longest; t *= 2) out.push(t);
  out.push(longest);
  return out;
}

export interface ScoreOptions {
  /** Rows a run holds at most (fewer where MAX_RUN_TOKENS says so). */
  rows: number;
  /** The token that fills a row past its sequence (never a target that counts). */
  padId: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * score(logprobs) of each sequence: logprobs[t] is the natural log-probability of tokens[t + 1] given
 * tokens[0..t] (so a sequence of n tokens gives n − 1). Sequences need at least 2 tokens and at most
 * the model's positions + 1. Shortest first, each run `rows` rows of one padded length (a last run
 * short of rows repeats its last sequence, so that every run of a length uses one compiled graph).
 * `onProgress(done, total)` counts sequences.
 */
export async function scoreSequences(
  model: DecoderModel,
  sequences: readonly number[][],
  score: (logprobs: Float32Array) => number,
  o: ScoreOptions,
): Promise<Float64Array> {
  const out = new Float64Array(sequences.length);
  if (sequences.length === 0) return out;
  const slots = (i: number) => sequences[i]!.length - 1;
  const order = [...sequences.keys()].sort((a, b) => slots(a) - slots(b) || a - b);
  const lengths = rowLengths(slots(order.at(-1)!));
  const encoded = (i: number) => ({
    tokens: sequences[i]!,
    trained: new Uint8Array(sequences[i]!.length).fill(1),
  });
  for (let i = 0; i < order.length;) {
    const T = lengths.find((t) => t >= slots(order[i]!))!;
    // Every sequence of this run fits T: those up to T, at most `rows` and MAX_RUN_TOKENS.
    const rowsHere = Math.max(1, Math.min(o.rows, Math.floor(MAX_RUN_TOKENS / T)));
    let end = i;
    while (end < order.length && end - i < rowsHere && slots(order[end]!) <= T) end++;
    // Sequences longer than this T go to the next run, whose T is larger; fill a short run's rows
    // with its last sequence so the run keeps the shape [rowsHere, T'].
    const picked = Array.from({ length: rowsHere }, (_, r) => order[Math.min(i + r, end - 1)]!);
    const rows = paddedRows(picked.map(encoded), [T], o.padId);
    const width = rows.tokens[0]!.length;
    const nll = await model.nll(rows.tokens, rows.targets);
    for (let r = 0; r < end - i; r++) {
      const j = picked[r]!;
      const lp = new Float32Array(slots(j));
      for (let t = 0; t < lp.length; t++) lp[t] = -nll[r * width + t]!;
      out[j] = score(lp);
    }
    i = end;
    o.onProgress?.(i, order.length);
  }
  return out;
}
