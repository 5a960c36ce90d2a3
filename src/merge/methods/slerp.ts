// slerp: spherical linear interpolation between two whole tensors, each taken as one flat vector.
// Semantics from mergekit/merge_methods/slerp.py:
//   a = base_model's tensor, b = the other's; t = 0 gives a, t = 1 gives b.
//   â = a/‖a‖, b̂ = b/‖b‖ (a vector of norm ≤ 1e-8 is left as it is); d = â·b̂.
//   |d| > 0.9995 (nearly colinear, either direction): lerp, (1 − t)·a + t·b.
//   else θ = acos d, s0 = sin((1 − t)θ)/sin θ, s1 = sin(tθ)/sin θ, result s0·a + s1·b.
// The coefficients multiply the original (unnormalized) tensors, as in mergekit.

import {
  checkInput,
  type MergeInput,
  type MergeMethod,
  MergeMethodError,
  numberParam,
  type ParamSpec,
} from "./method.js";
import { norm, dotAt } from "./vectors.js";

const DOT_THRESHOLD = 0.9995;
const EPS = 1e-8;

const globalParameters: ParamSpec[] = [
  {
    name: "t",
    kind: "number",
    min: 0,
    max: 1,
    doc: "interpolation factor: 0 gives base_model, 1 gives the other model (required)",
  },
];

/** Coefficients (c0, c1) such that slerp(t; a, b) = c0·a + c1·b (lerp's when a and b are nearly colinear). */
export function slerpCoefficients(t: number, a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
  const na = norm(a);
  const nb = norm(b);
  const d = dotAt(a, b, 0, 1, a.length) / ((na > EPS ? na : 1) * (nb > EPS ? nb : 1));
  if (Math.abs(d) > DOT_THRESHOLD) return [1 - t, t];
  const theta = Math.acos(d);
  const sinTheta = Math.sin(theta);
  const thetaT = theta * t;
  // At t = 0 the first coefficient is sin θ / sin θ = 1 exactly and the second sin 0 = 0, so the
  // endpoints come back bitwise; likewise at t = 1.
  return [Math.sin(theta - thetaT) / sinTheta, Math.sin(thetaT) / sinTheta];
}

function merge(input: MergeInput): Float32Array {
  const n = checkInput("slerp", input);
  const { tensors } = input;
  if (tensors.length === 1) return Float32Array.from(tensors[0]!);
  if (tensors.length !== 2)
    throw new MergeMethodError(
      `slerp: takes exactly 2 models (base_model and one other), got ${tensors.length}`,
    );
  // mergekit requires base_model; called directly without one, the first tensor plays the base.
  const ai = input.baseIndex ?? 0;
  const a = tensors[ai]!;
  const b = tensors[1 - ai]!;
  const t = numberParam("slerp", globalParameters, input.params, "t");
  const [c0, c1] = slerpCoefficients(t, a, b);
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) out[j] = c0 * a[j]! + c1 * b[j]!;
  return out;
}

export const slerp: MergeMethod = {
  name: "slerp",
  reference: "Shoemake, Animating rotation with quaternion curves (SIGGRAPH 1985); mergekit's slerp",
  requiresBase: true,
  minModels: 2,
  maxModels: 2,
  globalParameters,
  modelParameters: [],
  merge,
};
