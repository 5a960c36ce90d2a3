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
 * The Karcher mean of `xs` (equal weights), as mergekit's karcher method computes it, in float64.
 * Memory: one float64 vector (μ) besides the inputs. Neither the unit vectors xᵢ/‖xᵢ‖ nor the tangent
 * T are stored: each element of T is recomputed, in the same order of operations, where it is needed
 * (for ‖T‖ and for the step), so the result is the one a stored T gives.
 */
export function karcherMean(xs: ArrayLike<number>[], maxIter: number, tol: number): Float64Array {
  const n = xs[0]!.length;
  const alpha = 1 / xs.length;
  const norms = xs.map((x) => norm(x));
  const valid = xs.map((_, i) => i).filter((i) => norms[i]! > tol);
  const mu = new Float64Array(n);
  if (valid.length === 0) return mu;
  const a = 1 / valid.length; // equal α over the valid models, renormalized to sum to 1

  for (const i of valid) {
    const x = xs[i]!;
    const f = a / norms[i]!;
    for (let j = 0; j < n; j++) mu[j] = mu[j]! + f * x[j]!;
  }
  const m0 = norm(mu);
  if (m0 < tol) {
    const x = xs[valid[0]!]!;
    const s = norms[valid[0]!]!;
    for (let j = 0; j < n; j++) mu[j] = x[j]! / s;
  } else for (let j = 0; j < n; j++) mu[j] = mu[j]! / m0;

  for (let it = 0; it < maxIter; it++) {
    // T = Σ fᵢ·(xᵢ/sᵢ − cᵢ·μ) over the models at an angle ≥ tol from μ.
    const terms: { x: ArrayLike<number>; s: number; c: number; f: number }[] = [];
    for (const i of valid) {
      const x = xs[i]!;
      const s = norms[i]!;
      const c = Math.min(1, Math.max(-1, dotAt(mu, x, 0, 1, n) / s));
      const theta = Math.acos(c);
      if (theta < tol) continue;
      terms.push({ x, s, c, f: (a * theta) / Math.sin(theta) });
    }
    const tangentAt = (j: number) => {
      let t = 0;
      for (const { x, s, c, f } of terms) t = t + f * (x[j]! / s - c * mu[j]!);
      return t;
    };
    let tn2 = 0;
    for (let j = 0; j < n; j++) {
      const t = tangentAt(j);
      tn2 += t * t;
    }
    const tn = Math.sqrt(tn2);
    if (tn < tol) break;
    const cs = Math.cos(tn);
    const sn = Math.sin(tn) / tn;
    for (let j = 0; j < n; j++) mu[j] = cs * mu[j]! + sn * tangentAt(j); // T at j reads μ at j only
    const mn = norm(mu);
    if (mn > tol) for (let j = 0; j < n; j++) mu[j] = mu[j]! / mn;
  }

  let scale = 0;
  for (const s of norms) scale += alpha * s;
  for (let j = 0; j < n; j++) mu[j] = mu[j]! * scale;
  return mu;
}

/** float64 values rounded to float32 in place: the result is a view over the front of their buffer. */
function toFloat32InPlace(x: Float64Array): Float32Array {
  const out = new Float32Array(x.buffer, x.byteOffset, x.length);
  // out[j] takes bytes [4j, 4j + 4), which only overlap x[j'] for j' ≤ j, already read.
  for (let j = 0; j < x.length; j++) out[j] = x[j]!;
  return out;
}

/** max_iter as an integer; a fractional count of iterations is refused rather than rounded. */
function maxIterations(params: MergeInput["params"]): number {
  const maxIter = numberParam("karcher", globalParameters, params, "max_iter");
  if (!Number.isInteger(maxIter))
    throw new MergeMethodError(`karcher: parameter max_iter must be an integer, got ${maxIter}`);
  return maxIter;
}

function merge(input: MergeInput): Float32Array {
  checkInput("karcher", input);
  if (input.tensors.length === 1) return Float32Array.from(input.tensors[0]!);
  const maxIter = maxIterations(input.params);
  const tol = numberParam("karcher", globalParameters, input.params, "tol");
  // Memory: the inputs and one float64 vector, which becomes the output (N + 2 float32 tensors).
  return toFloat32InPlace(karcherMean(input.tensors, maxIter, tol));
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
  check: (input) => {
    if (input.inputs > 1) maxIterations(input.params);
  },
};
