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
import { type AxisLayout, axisLayout, forEachVector } from "./vectors.js";

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
 * nuslerp of a and b along the vectors of `layout`, written into `out`. With `base`, of the task
 * vectors a − base and b − base (each rounded to float32, as mergekit forms them in the tensors'
 * dtype), added back to base element by element. The task vectors are formed on the fly, never stored.
 */
export function nuslerpInto(
  out: Float32Array,
  t: number,
  a: Float32Array,
  b: Float32Array,
  layout: AxisLayout,
  base?: Float32Array,
): Float32Array {
  const len = layout.length;
  forEachVector(layout, (start, stride) => {
    // ‖v₀‖², ‖v₁‖², v₀·v₁: three float64 sums in element order.
    let s00 = 0;
    let s11 = 0;
    let s01 = 0;
    for (let k = 0, j = start; k < len; k++, j += stride) {
      const x = base ? Math.fround(a[j]! - base[j]!) : a[j]!;
      const y = base ? Math.fround(b[j]! - base[j]!) : b[j]!;
      s00 += x * x;
      s11 += y * y;
      s01 += x * y;
    }
    const n0 = Math.max(Math.sqrt(s00), NORM_EPS);
    const n1 = Math.max(Math.sqrt(s11), NORM_EPS);
    const cos = Math.min(1, Math.max(-1, s01 / (n0 * n1)));
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
    for (let k = 0, j = start; k < len; k++, j += stride) {
      if (base) {
        const x = Math.fround(a[j]! - base[j]!);
        const y = Math.fround(b[j]! - base[j]!);
        out[j] = base[j]! + c0 * x + c1 * y;
      } else out[j] = 0 + c0 * a[j]! + c1 * b[j]!;
    }
  });
  return out;
}

/** The two models interpolated between: every input but base_model, which must leave exactly two. */
function theTwo(inputs: number, baseIndex: number | undefined): [number, number] {
  const others = Array.from({ length: inputs }, (_, i) => i).filter((i) => i !== baseIndex);
  if (others.length !== 2)
    throw new MergeMethodError(
      `nuslerp: takes exactly 2 models besides base_model, got ${others.length}${baseIndex === undefined ? " (no base_model)" : " (plus base_model)"}`,
    );
  return others as [number, number];
}

function merge(input: MergeInput): Float32Array {
  const n = checkInput("nuslerp", input);
  const { tensors, baseIndex } = input;
  if (tensors.length === 1) return Float32Array.from(tensors[0]!);
  const [i0, i1] = theTwo(tensors.length, baseIndex);
  const w0 = numberParam("nuslerp", modelParameters, input.modelParams[i0]!, "weight", ` of model ${i0}`);
  const w1 = numberParam("nuslerp", modelParameters, input.modelParams[i1]!, "weight", ` of model ${i1}`);
  // mergekit: "fairly arbitrary, but more sane than exploding".
  const t = Math.abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
  const flatten = booleanParam("nuslerp", globalParameters, input.params, "nuslerp_flatten");
  const rowWise = booleanParam("nuslerp", globalParameters, input.params, "nuslerp_row_wise");
  const layout = flatten
    ? { outer: 1, length: n, inner: 1 }
    : axisLayout(input.shape, rowWise ? 0 : input.shape.length - 1);

  // Memory: the inputs and the output, nothing the size of a tensor besides.
  const base = baseIndex === undefined ? undefined : tensors[baseIndex]!;
  return nuslerpInto(new Float32Array(n), t, tensors[i0]!, tensors[i1]!, layout, base);
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
  check: (input) => {
    if (input.inputs > 1) theTwo(input.inputs, input.baseIndex);
  },
};
