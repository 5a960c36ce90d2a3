// linear: the weighted average of the input tensors ("model soup").
// Semantics from mergekit/merge_methods/linear.py: res = Σ wᵢ·xᵢ, divided by Σ wᵢ when `normalize`
// (default true). Every input takes part, base_model included if it is one of the models.

import type { ElementwiseSpec } from "../kernels/kernels.js";
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

/** Elements per block of the accumulation loop (128 KiB of float64). */
const BLOCK = 1 << 14;

const globalParameters: ParamSpec[] = [
  { name: "normalize", kind: "boolean", default: true, doc: "divide by the sum of the weights" },
];
const modelParameters: ParamSpec[] = [WEIGHT];

/** The weights and the divisor (Σ w with normalize, else 1) for one tensor. */
function setup(input: Pick<MergeInput, "modelParams" | "params">): { weights: number[]; divisor: number } {
  const weights = input.modelParams.map((p, i) =>
    numberParam("linear", modelParameters, p, "weight", ` of model ${i}`),
  );
  const normalize = booleanParam("linear", globalParameters, input.params, "normalize");
  let divisor = 1;
  if (normalize) {
    divisor = weights.reduce((a, b) => a + b, 0);
    // mergekit divides by the sum whatever it is, so zero-sum weights give inf/NaN tensors; say so instead.
    if (Math.abs(divisor) < 1e-8)
      throw new MergeMethodError(
        `linear: parameter weight sums to ${divisor} across models, so normalize (true) has nothing to divide by`,
      );
  }
  return { weights, divisor };
}

/** out = (Σ wₘ·xₘ) / divisor over equal-length arrays, in float64 with one rounding per element. */
function linearInto(out: Float32Array, xs: Float32Array[], weights: number[], divisor: number): Float32Array {
  const n = out.length;
  // Blockwise, so the float64 accumulator stays in cache instead of a whole-tensor float64 copy.
  const acc = new Float64Array(Math.min(n, BLOCK));
  const first = xs[0]!;
  const w0 = weights[0]!;
  for (let s = 0; s < n; s += BLOCK) {
    const len = Math.min(BLOCK, n - s);
    for (let j = 0; j < len; j++) acc[j] = w0 * first[s + j]!;
    for (let m = 1; m < xs.length; m++) {
      const x = xs[m]!;
      const w = weights[m]!;
      for (let j = 0; j < len; j++) acc[j] = acc[j]! + w * x[s + j]!;
    }
    for (let j = 0; j < len; j++) out[s + j] = acc[j]! / divisor;
  }
  return out;
}

function merge(input: MergeInput): Float32Array {
  const n = checkInput("linear", input);
  const { weights, divisor } = setup(input);
  return linearInto(new Float32Array(n), input.tensors, weights, divisor);
}

function check(input: ChunkedInput): void {
  checkChunkedInput("linear", input);
  setup(input);
}

function chunked(input: ChunkedInput): ChunkedMerge {
  checkChunkedInput("linear", input);
  const { weights, divisor } = setup(input);
  return {
    align: 1,
    nextPass: () => undefined,
    output: (_start, chunks, out) => linearInto(out, chunks, weights, divisor),
  };
}

function simd(input: ChunkedInput): ElementwiseSpec {
  checkChunkedInput("linear", input);
  return { kind: "linear", ...setup(input) };
}

export const linear: MergeMethod = {
  name: "linear",
  reference:
    "Wortsman et al., Model soups: averaging weights of multiple fine-tuned models improves accuracy without increasing inference time (arXiv 2203.05482)",
  requiresBase: false,
  minModels: 1,
  globalParameters,
  modelParameters,
  merge,
  check,
  chunked,
  simd,
};
