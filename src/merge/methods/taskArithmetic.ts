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

import type { ElementwiseSpec } from "../kernels/kernels.js";
import { chunkedInputOf, runChunked } from "./chunked.js";
import { simdTaskPlan } from "./taskArithmeticSimd.js";
import {
  booleanParam,
  checkChunkedInput,
  checkInput,
  type ChunkedInput,
  type ChunkedMerge,
  type MergeInput,
  type MergeMethod,
  MergeMethodError,
  numberParam,
  type ParamSpec,
  WEIGHT,
} from "./method.js";
import {
  type Sparsification,
  type Sparsifier,
  sparsifier,
  sparsifyAlign,
  type SparsifyOptions,
} from "./sparsify.js";

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

/** Elements per block of the consensus loops (the float64 scratch stays in cache). */
const BLOCK = 1 << 14;

/** One non-base model of a tensor's merge. */
export interface Member {
  index: number;
  weight: number;
  options: SparsifyOptions;
  sparsifier: Sparsifier;
}

export interface Setup {
  members: Member[];
  align: number;
  normalize: boolean;
  lambda: number;
  /** consensus none: the factor of the mixed delta (lambda / divisor). */
  scale: number;
}

/** Resolves and checks a tensor's parameters (in model order, so that errors name the first bad one). */
function setup(
  v: TaskArithmeticVariant,
  globalParameters: readonly ParamSpec[],
  modelParameters: readonly ParamSpec[],
  input: ChunkedInput,
): Setup {
  checkChunkedInput(v.name, input);
  const { baseIndex, length: n } = input;
  if (baseIndex === undefined) throw new MergeMethodError(`${v.name}: needs a base_model`);
  const g = (name: string) => numberParam(v.name, globalParameters, input.params, name);
  const gb = (name: string) => booleanParam(v.name, globalParameters, input.params, name);
  const normalize = gb("normalize");
  const rescale = gb("rescale");
  const lambda = g("lambda");
  const members: Member[] = [];
  let draws = 0;
  let align = 1;
  for (let i = 0; i < input.inputs; i++) {
    if (i === baseIndex) continue;
    const p = input.modelParams[i]!;
    const who = ` of model ${i}`;
    const m = (name: string) => numberParam(v.name, modelParameters, p, name, who);
    const options: SparsifyOptions = {
      method: v.sparsification,
      density: m("density"),
      gamma: v.sparsification === "magnitude_outliers" ? m("gamma") : undefined,
      epsilon: v.sparsification === "della_magprune" ? m("epsilon") : undefined,
      rescale,
      shape: input.shape,
      who: v.name,
    };
    // Models draw from the tensor's random stream in order, each starting where the last one stopped.
    const sp = sparsifier(options, n, input.random, draws);
    draws += sp.draws;
    align = Math.max(align, sparsifyAlign(options));
    members.push({ index: i, weight: m("weight"), options, sparsifier: sp });
  }
  let scale = lambda;
  if (v.consensus === "none" && normalize) {
    const weights = members.map((m) => m.weight);
    const sum = weights.reduce((a, b) => a + b, 0);
    // mergekit replaces a sum below 1e-8 by 1. When every weight is 0 the mixed delta is 0 and the
    // result is the base either way (a per-tensor weight of 0 is a normal way to leave a tensor alone).
    // Nonzero weights that cancel (1 and −1) would silently go unnormalized there: refuse instead.
    if (Math.abs(sum) >= 1e-8) scale = lambda / sum;
    else if (weights.some((w) => w !== 0))
      throw new MergeMethodError(
        `${v.name}: parameter weight sums to ${sum} across models, so normalize (true) has nothing to divide by`,
      );
  }
  return { members, align, normalize, lambda, scale };
}

/** A member of the family as a chunked merge: the sparsifiers' passes, then deltas mixed chunk by chunk. */
export function taskArithmeticPlan(
  v: TaskArithmeticVariant,
  globalParameters: readonly ParamSpec[],
  modelParameters: readonly ParamSpec[],
  input: ChunkedInput,
): ChunkedMerge {
  const s = setup(v, globalParameters, modelParameters, input);
  if (input.kernels && v.consensus !== "count") return simdTaskPlan(s, v.consensus, input);
  const { members, align, normalize, lambda, scale } = s;
  const baseIndex = input.baseIndex!;
  const k = members.length;
  const deltas: Float32Array[] = [];
  /** δ = x − base for member i's chunk, into its scratch (float32, like mergekit's deltas). */
  const delta = (i: number, x: Float32Array, base: Float32Array): Float32Array => {
    const n = x.length;
    if ((deltas[i]?.length ?? 0) < n) deltas[i] = new Float32Array(n);
    const d = deltas[i]!.subarray(0, n);
    for (let j = 0; j < n; j++) d[j] = x[j]! - base[j]!;
    return d;
  };
  const weights = members.map((m) => m.weight);
  const mixed = new Float64Array(BLOCK);
  const vote = new Float64Array(BLOCK);
  const divisor = new Float64Array(BLOCK);
  let done = false;
  return {
    align,
    nextPass() {
      if (done) return undefined;
      const passes = members.map((m) => m.sparsifier.nextPass());
      if (passes.every((p) => p === undefined)) {
        done = true;
        return undefined;
      }
      return (start, chunks) => {
        const base = chunks[baseIndex]!;
        members.forEach((m, i) => passes[i]?.(start, delta(i, chunks[m.index]!, base)));
      };
    },
    output(start, chunks, out) {
      const base = chunks[baseIndex]!;
      if (k === 0) {
        out.set(base);
        return;
      }
      const ds = members.map((m, i) => {
        const d = delta(i, chunks[m.index]!, base);
        m.sparsifier.apply(start, d);
        return d;
      });
      const n = out.length;
      // Column passes over blocks: each inner loop runs over one model's contiguous values.
      for (let c0 = 0; c0 < n; c0 += BLOCK) {
        const c1 = Math.min(n, c0 + BLOCK);
        mixed.fill(0);
        if (v.consensus === "none") {
          for (let i = 0; i < k; i++) {
            const d = ds[i]!;
            const w = weights[i]!;
            for (let j = c0, q = 0; j < c1; j++, q++) mixed[q] = mixed[q]! + w * d[j]!;
          }
          for (let j = c0, q = 0; j < c1; j++, q++) out[j] = base[j]! + mixed[q]! * scale;
          continue;
        }
        vote.fill(0);
        divisor.fill(0);
        for (let i = 0; i < k; i++) {
          const d = ds[i]!;
          const w = weights[i]!;
          if (v.consensus === "count") {
            for (let j = c0, q = 0; j < c1; j++, q++) {
              const x = w * d[j]!;
              vote[q] = vote[q]! + (x > 0 ? 1 : x < 0 ? -1 : 0);
            }
          } else for (let j = c0, q = 0; j < c1; j++, q++) vote[q] = vote[q]! + w * d[j]!;
        }
        for (let i = 0; i < k; i++) {
          const d = ds[i]!;
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
    },
  };
}

/** Merge one tensor with a member of the family (the chunked merge run as one chunk). */
export function mergeTaskArithmetic(
  v: TaskArithmeticVariant,
  globalParameters: readonly ParamSpec[],
  modelParameters: readonly ParamSpec[],
  input: MergeInput,
): Float32Array {
  checkInput(v.name, input);
  const plan = taskArithmeticPlan(v, globalParameters, modelParameters, chunkedInputOf(input));
  return runChunked(plan, input.tensors);
}

/** Plain task arithmetic's elementwise formula, for the SIMD kernel (none when no model is mixed in). */
function taskArithmeticSpec(
  v: TaskArithmeticVariant,
  globalParameters: readonly ParamSpec[],
  modelParameters: readonly ParamSpec[],
  input: ChunkedInput,
): ElementwiseSpec | undefined {
  const { members, scale } = setup(v, globalParameters, modelParameters, input);
  if (members.length === 0) return undefined;
  const weights = new Array<number>(input.inputs).fill(0);
  for (const m of members) weights[m.index] = m.weight;
  return { kind: "task", baseIndex: input.baseIndex!, weights, scale };
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
    globalParameters,
    modelParameters,
    merge: (input) => mergeTaskArithmetic(v, globalParameters, modelParameters, input),
    // Setting up resolves every parameter and builds the sparsifiers, reading no data.
    check: (input) => void setup(v, globalParameters, modelParameters, input),
    chunked: (input) => taskArithmeticPlan(v, globalParameters, modelParameters, input),
    simd:
      v.sparsification === "none" && v.consensus === "none"
        ? (input) => taskArithmeticSpec(v, globalParameters, modelParameters, input)
        : undefined,
  };
}
