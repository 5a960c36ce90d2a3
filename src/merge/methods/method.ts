// The contract between the merge planner (config parsing, streaming, writing) and the merge methods.
// A method sees one tensor at a time: the same tensor from every input model, as float32 values, plus
// the parameters already resolved for that tensor. It returns the merged values; it never touches disk.
//
// Conventions shared by every method here (each follows mergekit's published semantics; the file each
// formula comes from is named beside it):
// - Values come in and go out as float32; sums, norms and dot products are accumulated in float64 and
//   each output element is rounded to float32 once.
// - A ParamSpec without a `default` is required. mergekit does not require per-model parameters of
//   the base model (plan.py: `required=p.required and not is_base`); no method here reads them.
// - Range checks come from the ParamSpec (the caller enforces them). `merge` validates only what a
//   single parameter's range cannot express: model counts that depend on base_model, combinations of
//   parameters (DELLA's density ± epsilon), weights that make normalization undefined.

import { DeepenError } from "../../errors.js";

export interface ParamSpec {
  name: string;
  default?: number | boolean;
  min?: number;
  max?: number;
  minExclusive?: boolean;
  kind: "number" | "boolean";
  doc: string;
}

export interface MergeInput {
  /** This tensor's values in each input model (all the same length), in config order. */
  tensors: Float32Array[];
  /** Which of `tensors` is base_model, if the config has one. */
  baseIndex?: number;
  /** Per-model parameters resolved for this tensor (weight, density, epsilon, gamma…), one per model. */
  modelParams: Record<string, number | boolean>[];
  /** Global parameters resolved for this tensor (t, normalize, lambda, int8_mask, …). */
  params: Record<string, number | boolean>;
  shape: readonly number[];
  /** Seeded uniform [0, 1) for DARE/DELLA: same seed → same result. */
  random: () => number;
}

export interface MergeMethod {
  /** mergekit's merge_method name. */
  name: string;
  /** Paper (title, arXiv id). */
  reference: string;
  requiresBase: boolean;
  /** Number of input models (base_model included) the config must name. */
  minModels: number;
  maxModels?: number;
  globalParameters: ParamSpec[];
  modelParameters: ParamSpec[];
  /** Each output element depends only on the same element of the inputs, so the caller may merge a
   * tensor chunk by chunk (bounded memory, cache-friendly) and get the same bytes. */
  elementwise?: boolean;
  merge(input: MergeInput): Float32Array;
}

/** A merge method cannot compute this tensor from these inputs and parameters. */
export class MergeMethodError extends DeepenError {
  override readonly name = "MergeMethodError";
}

/** Number of elements a shape describes ([] is a scalar: 1). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks what every method relies on: tensors of one length matching `shape`, one parameter record per model, a valid baseIndex. */
export function checkInput(method: string, input: MergeInput): number {
  const { tensors, modelParams, baseIndex, shape } = input;
  if (tensors.length === 0) throw new MergeMethodError(`${method}: no input tensors`);
  const n = tensors[0]!.length;
  for (const [i, t] of tensors.entries()) {
    if (t.length !== n)
      throw new MergeMethodError(`${method}: input ${i} has ${t.length} values, input 0 has ${n}`);
  }
  if (shapeSize(shape) !== n)
    throw new MergeMethodError(`${method}: shape [${shape.join(", ")}] does not hold ${n} values`);
  if (modelParams.length !== tensors.length)
    throw new MergeMethodError(
      `${method}: ${modelParams.length} per-model parameter sets for ${tensors.length} tensors`,
    );
  if (
    baseIndex !== undefined &&
    !(Number.isInteger(baseIndex) && baseIndex >= 0 && baseIndex < tensors.length)
  )
    throw new MergeMethodError(
      `${method}: baseIndex ${baseIndex} is not one of the ${tensors.length} inputs`,
    );
  return n;
}

function lookup(
  method: string,
  specs: readonly ParamSpec[],
  values: Record<string, number | boolean>,
  name: string,
  who: string,
): number | boolean {
  const spec = specs.find((s) => s.name === name);
  if (spec === undefined) throw new Error(`${method}: no parameter spec named ${name}`); // a bug here, not a user error
  const v = values[name] ?? spec.default;
  if (v === undefined)
    throw new MergeMethodError(`${method}: parameter ${name}${who} is required and not given`);
  if (typeof v !== (spec.kind === "number" ? "number" : "boolean"))
    throw new MergeMethodError(`${method}: parameter ${name}${who} must be a ${spec.kind}, got ${String(v)}`);
  if (typeof v === "number" && !Number.isFinite(v))
    throw new MergeMethodError(`${method}: parameter ${name}${who} must be finite, got ${v}`);
  return v;
}

/** A number parameter: the resolved value, else the spec's default; throws if neither exists. */
export function numberParam(
  method: string,
  specs: readonly ParamSpec[],
  values: Record<string, number | boolean>,
  name: string,
  who = "",
): number {
  return lookup(method, specs, values, name, who) as number;
}

/** A boolean parameter: the resolved value, else the spec's default. */
export function booleanParam(
  method: string,
  specs: readonly ParamSpec[],
  values: Record<string, number | boolean>,
  name: string,
  who = "",
): boolean {
  return lookup(method, specs, values, name, who) as boolean;
}

/** The per-model `weight` spec shared by linear, nuslerp and the task-arithmetic family. */
export const WEIGHT: ParamSpec = {
  name: "weight",
  kind: "number",
  doc: "this model's weight in the merge (required; may be negative)",
};
