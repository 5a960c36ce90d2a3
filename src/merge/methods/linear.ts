// linear: the weighted average of the input tensors ("model soup").
// Semantics from mergekit/merge_methods/linear.py: res = Σ wᵢ·xᵢ, divided by Σ wᵢ when `normalize`
// (default true). Every input takes part, base_model included if it is one of the models.

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

/** Elements per block of the accumulation loop (128 KiB of float64). */
const BLOCK = 1 << 14;

const globalParameters: ParamSpec[] = [
  { name: "normalize", kind: "boolean", default: true, doc: "divide by the sum of the weights" },
];
const modelParameters: ParamSpec[] = [WEIGHT];

function merge(input: MergeInput): Float32Array {
  const n = checkInput("linear", input);
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
  // Blockwise, so the float64 accumulator stays in cache instead of a whole-tensor float64 copy.
  const out = new Float32Array(n);
  const acc = new Float64Array(Math.min(n, BLOCK));
  const first = input.tensors[0]!;
  const w0 = weights[0]!;
  for (let s = 0; s < n; s += BLOCK) {
    const len = Math.min(BLOCK, n - s);
    for (let j = 0; j < len; j++) acc[j] = w0 * first[s + j]!;
    for (let m = 1; m < input.tensors.length; m++) {
      const x = input.tensors[m]!;
      const w = weights[m]!;
      for (let j = 0; j < len; j++) acc[j] = acc[j]! + w * x[s + j]!;
    }
    for (let j = 0; j < len; j++) out[s + j] = acc[j]! / divisor;
  }
  return out;
}

export const linear: MergeMethod = {
  name: "linear",
  reference:
    "Wortsman et al., Model soups: averaging weights of multiple fine-tuned models improves accuracy without increasing inference time (arXiv 2203.05482)",
  requiresBase: false,
  elementwise: true,
  minModels: 1,
  globalParameters,
  modelParameters,
  merge,
};
