import { articleFor } from "../formatCount.js";
import type { DType } from "../checkpoint/dtype.js";
import { UsageError } from "../errors.js";
import type { LayerPlan, StackLayout } from "./layerPlan.js";

export interface DusOptions {
  /** m, layers dropped from the end of copy A and the start of copy B. Default n/4, as in the paper. */
  drop?: number;
  /** Target depth s = 2(n − m); derives m. */
  layers?: number;
  dtype?: DType;
}

/** The drop m that DUS uses for a base of n layers under the given options. */
export function dusDrop(n: number, opts: DusOptions): number {
  if (opts.drop !== undefined && opts.layers !== undefined) {
    throw new UsageError("give --drop or --layers, not both");
  }
  let m: number;
  if (opts.layers !== undefined) {
    const s = opts.layers;
    if (!Number.isInteger(s) || s % 2 !== 0 || s < 2 || s > 2 * n) {
      throw new UsageError(
        `--layers ${s}: DUS of ${articleFor(n)} ${n}-layer model gives 2(n - m) layers, an even number from 2 to ${2 * n}`,
      );
    }
    m = n - s / 2;
  } else {
    m = opts.drop ?? Math.floor(n / 4);
  }
  if (!Number.isInteger(m) || m < 0 || m >= n) {
    throw new UsageError(`--drop ${m}: need 0 <= m < n = ${n}`);
  }
  return m;
}

/**
 * Depth up-scaling (SOLAR, arXiv 2312.15166): copy A keeps layers [0, n−m), copy B keeps [m, n);
 * the output stacks A then B, 2(n − m) layers. At the seam layer n−m−1 feeds layer m.
 */
export function planDus<M extends StackLayout>(layout: M, opts: DusOptions = {}): LayerPlan<M> {
  const n = layout.layers;
  const m = dusDrop(n, opts);
  const a = Array.from({ length: n - m }, (_, i) => ({ model: 0, layer: i }));
  const b = Array.from({ length: n - m }, (_, i) => ({ model: 0, layer: m + i }));
  return {
    method: "dus",
    models: [layout],
    layers: [...a, ...b],
    headFrom: 0,
    configFrom: 0,
    tokenizerFrom: 0,
    tailFrom: 0,
    dtype: opts.dtype,
    newLayers: [],
    recipe: { method: "dus", n, m, layers: 2 * (n - m), seam: [n - m - 1, m] },
    // Legal (a pruned stack may be the point), but never a surprise.
    ...(2 * (n - m) < n && {
      warnings: [
        `--drop ${m} is more than half of the base's ${n} layers: the output has ${2 * (n - m)} layers, fewer than its base`,
      ],
    }),
  };
}
