// The task-arithmetic family, one implementation parameterized by sparsification and consensus.
// Semantics from mergekit/merge_methods/generalized_task_arithmetic.py (GTATask) and the defaults of
// mergekit/merge_methods/registry.py:
//
//   δᵢ = xᵢ − base for every non-base model i (float32, like mergekit's deltas)
//   δᵢ ← sparsify(δᵢ; densityᵢ, gammaᵢ | epsilonᵢ, rescale)           (see sparsify.ts)
//   uᵢ = wᵢ·δᵢ
//   consensus none:  mixed = Σ uᵢ,              divisor = Σ wᵢ
//   consensus sum:   s = sign(Σ uᵢ) (0 counts as +); mᵢ = [sign(uᵢ) = s] (a zero uᵢ never votes)
//                    mixed = Σ mᵢ·uᵢ,           divisor = Σ mᵢ·wᵢ per element (0 → 1)
//   consensus count: as sum, with s = sign(Σ sign(uᵢ)) (0 counts as +)
//   normalize: mixed /= divisor;  then mixed *= lambda;  result = base + mixed
//
// int8_mask only changes the dtype of mergekit's mask tensor (memory, not values); it is accepted
// and has no effect here.

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
import { type Sparsification, sparsify } from "./sparsify.js";

export type Consensus = "none" | "sum" | "count";

/** One member of the family: what a registry entry names. */
export interface TaskArithmeticVariant {
  name: string;
  reference: string;
  sparsification: Sparsification;
  consensus: Consensus;
  defaultNormalize: boolean;
  defaultRescale: boolean;
}

function globalSpecs(v: TaskArithmeticVariant): ParamSpec[] {
  return [
    {
      name: "normalize",
      kind: "boolean",
      default: v.defaultNormalize,
      doc: "divide the mixed task vector by the sum of the weights (per element, of the models that agree in sign, with sign consensus)",
    },
    {
      name: "rescale",
      kind: "boolean",
      default: v.defaultRescale,
      doc: "after sparsifying, scale each task vector back to its original L1 norm",
    },
    {
      name: "lambda",
      kind: "number",
      default: 1,
      doc: "scale of the mixed task vector before it is added to the base",
    },
    {
      name: "int8_mask",
      kind: "boolean",
      default: false,
      doc: "mergekit stores the sign-consensus mask as int8 to save memory; no effect on values",
    },
  ];
}

function modelSpecs(v: TaskArithmeticVariant): ParamSpec[] {
  const specs: ParamSpec[] = [
    WEIGHT,
    {
      name: "density",
      kind: "number",
      default: 1,
      min: 0,
      minExclusive: true,
      max: 1,
      doc:
        v.sparsification === "none"
          ? "accepted for compatibility with mergekit; task_arithmetic does not sparsify"
          : "fraction of the task vector kept",
    },
  ];
  if (v.sparsification === "magnitude_outliers")
    specs.push({
      name: "gamma",
      kind: "number",
      default: 0.01,
      min: 0,
      max: 1,
      doc: "fraction of the task vector's largest magnitudes removed as outliers (the paper's β)",
    });
  if (v.sparsification === "della_magprune")
    specs.push({
      name: "epsilon",
      kind: "number",
      default: 0.15,
      min: 0,
      max: 1,
      doc: "keep probabilities range over density ± epsilon, smallest to largest magnitude in each row",
    });
  return specs;
}

/** Merge one tensor with a member of the task-arithmetic family. */
export function mergeTaskArithmetic(
  v: TaskArithmeticVariant,
  globalParameters: readonly ParamSpec[],
  modelParameters: readonly ParamSpec[],
  input: MergeInput,
): Float32Array {
  const n = checkInput(v.name, input);
  const { tensors, baseIndex } = input;
  if (baseIndex === undefined) throw new MergeMethodError(`${v.name}: needs a base_model`);
  const base = tensors[baseIndex]!;
  const g = (name: string) => numberParam(v.name, globalParameters, input.params, name);
  const gb = (name: string) => booleanParam(v.name, globalParameters, input.params, name);
  const normalize = gb("normalize");
  const rescale = gb("rescale");
  const lambda = g("lambda");

  const deltas: Float32Array[] = [];
  const weights: number[] = [];
  for (let i = 0; i < tensors.length; i++) {
    if (i === baseIndex) continue;
    const p = input.modelParams[i]!;
    const who = ` of model ${i}`;
    const m = (name: string) => numberParam(v.name, modelParameters, p, name, who);
    const x = tensors[i]!;
    const delta = new Float32Array(n);
    for (let j = 0; j < n; j++) delta[j] = x[j]! - base[j]!;
    deltas.push(
      sparsify(delta, {
        method: v.sparsification,
        density: m("density"),
        gamma: v.sparsification === "magnitude_outliers" ? m("gamma") : undefined,
        epsilon: v.sparsification === "della_magprune" ? m("epsilon") : undefined,
        rescale,
        shape: input.shape,
        random: input.random,
        who: v.name,
      }),
    );
    weights.push(m("weight"));
  }
  if (deltas.length === 0) return Float32Array.from(base);

  // Column passes over chunks: each inner loop runs over one model's contiguous values.
  const k = deltas.length;
  const out = new Float32Array(n);
  const CHUNK = 1 << 14;
  const mixed = new Float64Array(CHUNK);
  if (v.consensus === "none") {
    let divisor = 1;
    if (normalize) {
      const sum = weights.reduce((a, b) => a + b, 0);
      if (Math.abs(sum) >= 1e-8) divisor = sum;
      // mergekit replaces a sum below 1e-8 by 1. When every weight is 0 the mixed delta is 0 and the
      // result is the base either way (a per-tensor weight of 0 is a normal way to leave a tensor alone).
      // Nonzero weights that cancel (1 and −1) would silently go unnormalized there: refuse instead.
      else if (weights.some((w) => w !== 0))
        throw new MergeMethodError(
          `${v.name}: parameter weight sums to ${sum} across models, so normalize (true) has nothing to divide by`,
        );
    }
    const scale = lambda / divisor;
    for (let c0 = 0; c0 < n; c0 += CHUNK) {
      const c1 = Math.min(n, c0 + CHUNK);
      mixed.fill(0);
      for (let i = 0; i < k; i++) {
        const d = deltas[i]!;
        const w = weights[i]!;
        for (let j = c0, q = 0; j < c1; j++, q++) mixed[q] = mixed[q]! + w * d[j]!;
      }
      for (let j = c0, q = 0; j < c1; j++, q++) out[j] = base[j]! + mixed[q]! * scale;
    }
    return out;
  }

  const vote = new Float64Array(CHUNK);
  const divisor = new Float64Array(CHUNK);
  for (let c0 = 0; c0 < n; c0 += CHUNK) {
    const c1 = Math.min(n, c0 + CHUNK);
    vote.fill(0);
    mixed.fill(0);
    divisor.fill(0);
    for (let i = 0; i < k; i++) {
      const d = deltas[i]!;
      const w = weights[i]!;
      if (v.consensus === "count") {
        for (let j = c0, q = 0; j < c1; j++, q++) {
          const x = w * d[j]!;
          vote[q] = vote[q]! + (x > 0 ? 1 : x < 0 ? -1 : 0);
        }
      } else for (let j = c0, q = 0; j < c1; j++, q++) vote[q] = vote[q]! + w * d[j]!;
    }
    for (let i = 0; i < k; i++) {
      const d = deltas[i]!;
      const w = weights[i]!;
      for (let j = c0, q = 0; j < c1; j++, q++) {
        const x = w * d[j]!;
        if (vote[q]! >= 0 ? x > 0 : x < 0) {
          mixed[q] = mixed[q]! + x;
          divisor[q] = divisor[q]! + w;
        }
      }
    }
    for (let j = c0, q = 0; j < c1; j++, q++) {
      const dv = divisor[q]!;
      const m = normalize && dv !== 0 ? mixed[q]! / dv : mixed[q]!;
      out[j] = base[j]! + m * lambda;
    }
  }
  return out;
}

/** A registry entry for one member of the family. */
export function taskArithmeticMethod(v: TaskArithmeticVariant): MergeMethod {
  const globalParameters = globalSpecs(v);
  const modelParameters = modelSpecs(v);
  return {
    name: v.name,
    reference: v.reference,
    requiresBase: true,
    minModels: 1,
    // Without sparsification (whole-tensor magnitudes, norms) nothing couples the elements.
    elementwise: v.sparsification === "none",
    globalParameters,
    modelParameters,
    merge: (input) => mergeTaskArithmetic(v, globalParameters, modelParameters, input),
  };
}
