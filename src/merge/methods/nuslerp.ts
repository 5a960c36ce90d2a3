// nuslerp: slerp of two models driven by per-model weights, over the whole tensor or per row/column,
// optionally on task vectors. Semantics from mergekit/merge_methods/nuslerp.py:
//   t = w₂ / (w₁ + w₂) for the two non-base models in config order (t = 0.5 when |w₁ + w₂| < 1e-6).
//   With base_model: result = base + nuslerp(t, a − base, b − base); without: nuslerp(t, a, b).
//   Vectors: nuslerp_flatten (default true) → the whole tensor is one vector; otherwise
//   nuslerp_row_wise false (default) → vectors along the last axis, true → along axis 0.
//   Per vector: â = v₀/max(‖v₀‖, 1e-7), b̂ likewise; θ = acos(clamp(â·b̂, −1, 1));
//   |sin θ| < 1e-8 → (1 − t)·v₀ + t·v₁, else (sin((1 − t)θ)·v₀ + sin(tθ)·v₁) / sin θ.
// Note: mergekit's docs say nuslerp_row_wise: true "SLERPs row vectors instead of column vectors";
// its code does the opposite (false → torch dim −1, the rows of a [out, in] matrix; true → dim 0, the
// columns). We follow the code, since that is what produces mergekit's results.

import {
  booleanParam,
  checkInput,
  type MergeInput,
  type MergeMethod,
  MergeMethodError,
  numberParam,
  type ParamSpec,
  WEIGHT,
} from "./method.js";
import { type AxisLayout, axisLayout, dotAt, forEachVector } from "./vectors.js";

const globalParameters: ParamSpec[] = [
  {
    name: "nuslerp_flatten",
    kind: "boolean",
    default: true,
    doc: "treat the whole tensor as one vector (otherwise interpolate each row or column)",
  },
  {
    name: "nuslerp_row_wise",
    kind: "boolean",
    default: false,
    doc: "with nuslerp_flatten false: interpolate vectors along axis 0 instead of along the last axis",
  },
];
const modelParameters: ParamSpec[] = [WEIGHT];

const NORM_EPS = 1e-7;
const SIN_EPS = 1e-8;

/**
 * nuslerp of v0 and v1 along the vectors of `layout`, written into `out` (plus `offset`, when given,
 * element by element: the base that task vectors are added back to).
 */
export function nuslerpInto(
  out: Float32Array,
  t: number,
  v0: ArrayLike<number>,
  v1: ArrayLike<number>,
  layout: AxisLayout,
  offset?: ArrayLike<number>,
): Float32Array {
  const len = layout.length;
  forEachVector(layout, (start, stride) => {
    const n0 = Math.max(Math.sqrt(dotAt(v0, v0, start, stride, len)), NORM_EPS);
    const n1 = Math.max(Math.sqrt(dotAt(v1, v1, start, stride, len)), NORM_EPS);
    const cos = Math.min(1, Math.max(-1, dotAt(v0, v1, start, stride, len) / (n0 * n1)));
    const theta = Math.acos(cos);
    const sinTheta = Math.sin(theta);
    let c0: number;
    let c1: number;
    if (Math.abs(sinTheta) < SIN_EPS) {
      c0 = 1 - t;
      c1 = t;
    } else {
      c0 = Math.sin((1 - t) * theta) / sinTheta;
      c1 = Math.sin(t * theta) / sinTheta;
    }
    for (let k = 0, j = start; k < len; k++, j += stride)
      out[j] = (offset === undefined ? 0 : offset[j]!) + c0 * v0[j]! + c1 * v1[j]!;
  });
  return out;
}

function merge(input: MergeInput): Float32Array {
  const n = checkInput("nuslerp", input);
  const { tensors, baseIndex } = input;
  if (tensors.length === 1) return Float32Array.from(tensors[0]!);
  const others = tensors.map((_, i) => i).filter((i) => i !== baseIndex);
  if (others.length !== 2)
    throw new MergeMethodError(
      `nuslerp: takes exactly 2 models besides base_model, got ${others.length}${baseIndex === undefined ? " (no base_model)" : " (plus base_model)"}`,
    );
  const [i0, i1] = others as [number, number];
  const w0 = numberParam("nuslerp", modelParameters, input.modelParams[i0]!, "weight", ` of model ${i0}`);
  const w1 = numberParam("nuslerp", modelParameters, input.modelParams[i1]!, "weight", ` of model ${i1}`);
  // mergekit: "fairly arbitrary, but more sane than exploding".
  const t = Math.abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
  const flatten = booleanParam("nuslerp", globalParameters, input.params, "nuslerp_flatten");
  const rowWise = booleanParam("nuslerp", globalParameters, input.params, "nuslerp_row_wise");
  const layout = flatten
    ? { outer: 1, length: n, inner: 1 }
    : axisLayout(input.shape, rowWise ? 0 : input.shape.length - 1);

  const a = tensors[i0]!;
  const b = tensors[i1]!;
  const out = new Float32Array(n);
  if (baseIndex === undefined) return nuslerpInto(out, t, a, b, layout);
  // Task vectors in float32, as mergekit forms them (x − base in the tensors' dtype).
  const base = tensors[baseIndex]!;
  const d0 = new Float32Array(n);
  const d1 = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    d0[j] = a[j]! - base[j]!;
    d1[j] = b[j]! - base[j]!;
  }
  return nuslerpInto(out, t, d0, d1, layout, base);
}

export const nuslerp: MergeMethod = {
  name: "nuslerp",
  reference:
    "mergekit's NuSLERP (no paper): weighted slerp, row/column-wise or flattened, optionally of task vectors",
  requiresBase: false,
  minModels: 2,
  maxModels: 3,
  globalParameters,
  modelParameters,
  merge,
};
