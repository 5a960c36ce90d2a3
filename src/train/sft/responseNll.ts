// Scoring examples with their loss mask under a model, forward only: SFT's held-out loss and DPO's
// sequence log-probabilities (the reference pass and held-out pairs) are both this, summed per
// example over its loss-bearing tokens.
import type { DecoderModel } from "../../nn/decoderModel.js";
import type { EncodedExample } from "./encodeExample.js";
import { lengthBuckets, paddedRows, slots } from "./sftBatcher.js";

export interface ResponseNll {
  /** Per example, the summed negative log-likelihood of its loss-bearing tokens. */
  sum: Float64Array;
  /** Per example, how many tokens carry loss. */
  count: Uint32Array;
}

/**
 * Each example's summed NLL and loss-bearing token count under `model`: one example a row, `rows`
 * rows a run, shortest first so rows pad little (a last run short of rows repeats its last example;
 * only real rows count). `onProgress(done, total)` after each run.
 */
export async function responseNll(
  model: DecoderModel,
  examples: readonly EncodedExample[],
  o: { rows: number; seqLen: number; padId: number; onProgress?: (done: number, total: number) => void },
): Promise<ResponseNll> {
  const out: ResponseNll = {
    sum: new Float64Array(examples.length),
    count: new Uint32Array(examples.length),
  };
  const order = [...examples.keys()].sort((a, b) => slots(examples[a]!) - slots(examples[b]!));
  const buckets = lengthBuckets(o.seqLen);
  for (let i = 0; i < order.length; i += o.rows) {
    const idx = Array.from({ length: o.rows }, (_, r) => order[Math.min(i + r, order.length - 1)]!);
    const rows = paddedRows(
      idx.map((j) => examples[j]!),
      buckets,
      o.padId,
    );
    const T = rows.tokens[0]!.length;
    const nll = await model.nll(rows.tokens, rows.targets);
    for (let r = 0; r < Math.min(o.rows, order.length - i); r++) {
      const j = idx[r]!;
      for (let t = 0; t < T; t++)
        if (rows.weights[r]![t]) {
          out.sum[j] = out.sum[j]! + nll[r * T + t]!;
          out.count[j] = out.count[j]! + 1;
        }
    }
    o.onProgress?.(Math.min(i + o.rows, order.length), order.length);
  }
  return out;
}
