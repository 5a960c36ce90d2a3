// model_stock: interpolate between the base and the average of the fine-tuned models, by a ratio set
// from the angle between their task vectors. Semantics from mergekit/merge_methods/model_stock.py:
//
//   w₀ = base, w₁…w_N the other models (N ≥ 2), offsets oᵢ = wᵢ − w₀
//   cos θ = mean over pairs i < j of clamp(oᵢ·oⱼ / max(‖oᵢ‖‖oⱼ‖, 1e-6), −1, 1)
//   t = N·cos θ / (1 + (N − 1)·cos θ)
//   result = t·mean(wᵢ) + (1 − t)·w₀
//
// filter_wise false (default): the whole tensor is one vector, one t. filter_wise true: each vector
// along the last axis (each row of a matrix; a 1-D tensor is one row) gets its own t.

import {
  booleanParam,
  checkInput,
  type MergeInput,
  type MergeMethod,
  MergeMethodError,
  type ParamSpec,
} from "./method.js";
import { axisLayout, forEachVector } from "./vectors.js";

const globalParameters: ParamSpec[] = [
  {
    name: "filter_wise",
    kind: "boolean",
    default: false,
    doc: "compute the interpolation ratio per row (along the last axis) instead of once per tensor",
  },
];

/** The Model Stock ratio t for N fine-tuned models whose offsets have mean pairwise cosine `cos`. */
export function modelStockRatio(n: number, cos: number): number {
  const denom = 1 + (n - 1) * cos;
  // The mean pairwise cosine of N vectors is at least −1/(N − 1) (‖Σ ûᵢ‖² ≥ 0), with equality only when
  // the unit offsets cancel exactly; there mergekit's t is ±∞ and the tensor inf/NaN. Such a tensor
  // has no common direction to move along: keep the base (t = 0).
  if (!(denom > 1e-12)) return 0;
  return (n * cos) / denom;
}

function merge(input: MergeInput): Float32Array {
  const n = checkInput("model_stock", input);
  const { tensors, baseIndex } = input;
  if (baseIndex === undefined) throw new MergeMethodError("model_stock: needs a base_model");
  const w0 = tensors[baseIndex]!;
  if (tensors.length === 1) return Float32Array.from(w0);
  const ws = tensors.filter((_, i) => i !== baseIndex);
  const N = ws.length;
  if (N < 2) throw new MergeMethodError(`model_stock: needs at least 2 models besides base_model, got ${N}`);
  const filterWise = booleanParam("model_stock", globalParameters, input.params, "filter_wise");
  const layout = filterWise ? axisLayout(input.shape, -1) : { outer: 1, length: n, inner: 1 };

  // Offsets oᵢ = wᵢ − w₀ are formed element by element (never stored: one per model would be large).
  const out = new Float32Array(n);
  const len = layout.length;
  const o = new Float64Array(N);
  const sq = new Float64Array(N); // ‖oᵢ‖²
  const dots = new Float64Array(N * N); // oᵢ·oₖ, i < k
  forEachVector(layout, (start, stride) => {
    sq.fill(0);
    dots.fill(0);
    for (let q = 0, j = start; q < len; q++, j += stride) {
      for (let i = 0; i < N; i++) o[i] = ws[i]![j]! - w0[j]!;
      for (let i = 0; i < N; i++) {
        sq[i] = sq[i]! + o[i]! * o[i]!;
        for (let k = i + 1; k < N; k++) dots[i * N + k] = dots[i * N + k]! + o[i]! * o[k]!;
      }
    }
    let cosSum = 0;
    for (let i = 0; i < N; i++) {
      for (let k = i + 1; k < N; k++) {
        const c = dots[i * N + k]! / Math.max(Math.sqrt(sq[i]!) * Math.sqrt(sq[k]!), 1e-6);
        cosSum += Math.min(1, Math.max(-1, c));
      }
    }
    const t = modelStockRatio(N, cosSum / ((N * (N - 1)) / 2));
    for (let q = 0, j = start; q < len; q++, j += stride) {
      let avg = 0;
      for (const w of ws) avg += w[j]!;
      avg /= N;
      out[j] = t * avg + (1 - t) * w0[j]!;
    }
  });
  return out;
}

export const modelStock: MergeMethod = {
  name: "model_stock",
  reference: "Jang et al., Model Stock: All we need is just a few fine-tuned models (arXiv 2403.19522)",
  requiresBase: true,
  minModels: 3,
  globalParameters,
  modelParameters: [],
  merge,
};
