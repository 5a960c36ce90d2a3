// karcher: the Riemannian (Karcher/Fréchet) mean of the input tensors' directions on the unit sphere,
// scaled by their mean norm. Semantics from mergekit/merge_methods/karcher.py (karcher_merge_tensors),
// each tensor taken as one flat vector, every model weighted equally (αᵢ = 1/n):
//
//   uᵢ = xᵢ/‖xᵢ‖; models with ‖xᵢ‖ ≤ tol are left out of the direction (all left out → zeros),
//   the others reweighted to sum to 1.
//   start: μ = normalized Σ αᵢuᵢ (the first unit vector if that sum has norm < tol)
//   repeat max_iter times: T = Σ αᵢ·(θᵢ/sin θᵢ)·(uᵢ − cos θᵢ·μ) with cos θᵢ = clamp(μ·uᵢ, −1, 1),
//     terms with θᵢ < tol skipped (T is the mean of the log maps of the uᵢ at μ);
//     stop when ‖T‖ < tol; else μ ← cos‖T‖·μ + sin‖T‖·T/‖T‖, renormalized (the exponential map).
//   result = (Σ αᵢ‖xᵢ‖)·μ, the norms of all models (zero ones included) averaged.

import {
  checkInput,
  type MergeInput,
  type MergeMethod,
  MergeMethodError,
  numberParam,
  type ParamSpec,
} from "./method.js";
import { dotAt, norm } from "./vectors.js";

const globalParameters: ParamSpec[] = [
  {
    name: "max_iter",
    kind: "number",
    default: 10,
    min: 0,
    doc: "maximum number of fixed-point iterations (an integer)",
  },
  {
    name: "tol",
    kind: "number",
    default: 1e-5,
    min: 0,
    doc: "convergence tolerance: smallest norm, angle and step size that count",
  },
];

/**
 * The Karcher mean of `xs` (equal weights), as mergekit's karcher method computes it, in float64. The
 * unit vectors xᵢ/‖xᵢ‖ are never materialized (a large embedding would need one float64 copy per model).
 */
export function karcherMean(xs: ArrayLike<number>[], maxIter: number, tol: number): Float64Array {
  const n = xs[0]!.length;
  const alpha = 1 / xs.length;
  const norms = xs.map((x) => norm(x));
  const valid = xs.map((_, i) => i).filter((i) => norms[i]! > tol);
  if (valid.length === 0) return new Float64Array(n);
  const a = 1 / valid.length; // equal α over the valid models, renormalized to sum to 1

  let mu = new Float64Array(n);
  for (const i of valid) {
    const x = xs[i]!;
    const f = a / norms[i]!;
    for (let j = 0; j < n; j++) mu[j] = mu[j]! + f * x[j]!;
  }
  const m0 = norm(mu);
  if (m0 < tol) {
    const x = xs[valid[0]!]!;
    const s = norms[valid[0]!]!;
    mu = new Float64Array(n);
    for (let j = 0; j < n; j++) mu[j] = x[j]! / s;
  } else for (let j = 0; j < n; j++) mu[j] = mu[j]! / m0;

  const tangent = new Float64Array(n);
  for (let it = 0; it < maxIter; it++) {
    tangent.fill(0);
    for (const i of valid) {
      const x = xs[i]!;
      const s = norms[i]!;
      const c = Math.min(1, Math.max(-1, dotAt(mu, x, 0, 1, n) / s));
      const theta = Math.acos(c);
      if (theta < tol) continue;
      const f = (a * theta) / Math.sin(theta);
      for (let j = 0; j < n; j++) tangent[j] = tangent[j]! + f * (x[j]! / s - c * mu[j]!);
    }
    const tn = norm(tangent);
    if (tn < tol) break;
    const cs = Math.cos(tn);
    const sn = Math.sin(tn) / tn;
    for (let j = 0; j < n; j++) mu[j] = cs * mu[j]! + sn * tangent[j]!;
    const mn = norm(mu);
    if (mn > tol) for (let j = 0; j < n; j++) mu[j] = mu[j]! / mn;
  }

  let scale = 0;
  for (const s of norms) scale += alpha * s;
  for (let j = 0; j < n; j++) mu[j] = mu[j]! * scale;
  return mu;
}

function merge(input: MergeInput): Float32Array {
  checkInput("karcher", input);
  if (input.tensors.length === 1) return Float32Array.from(input.tensors[0]!);
  const maxIter = numberParam("karcher", globalParameters, input.params, "max_iter");
  if (!Number.isInteger(maxIter))
    throw new MergeMethodError(`karcher: parameter max_iter must be an integer, got ${maxIter}`);
  const tol = numberParam("karcher", globalParameters, input.params, "tol");
  return Float32Array.from(karcherMean(input.tensors, maxIter, tol));
}

export const karcher: MergeMethod = {
  name: "karcher",
  reference:
    "Karcher, Riemannian center of mass and mollifier smoothing (Comm. Pure Appl. Math. 1977); mergekit's karcher",
  requiresBase: false,
  minModels: 1,
  globalParameters,
  modelParameters: [],
  merge,
};
