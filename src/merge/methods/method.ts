// The contract between the merge planner (config parsing, streaming, writing) and the merge methods.
// A method sees one tensor at a time: the same tensor from every input model, as float32 values, plus
// the parameters already resolved for that tensor. It returns the merged values; it never touches disk.
// Methods that need no whole-tensor quantity (norms, angles) also offer `chunked`: the same merge in
// passes over chunks of the tensor, which the planner streams from disk in bounded memory (linear and
// the task-arithmetic family; slerp, nuslerp, model_stock and karcher take whole tensors: memory for
// the N inputs and at most two tensors more). `merge` runs the chunked form as one chunk, so both
// give the same values.
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
import type { ElementwiseSpec, Kernels } from "../kernels/kernels.js";

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

/**
 * A seeded uniform [0, 1) stream that can be entered anywhere: at(k) gives draws k, k + 1, … of the
 * tensor's stream, so a streamed merge draws exactly the numbers a whole-tensor merge draws.
 */
export interface RandomSource {
  at(offset: number): () => number;
}

/** What a chunked merge knows of a tensor before it sees the values: MergeInput without the tensors. */
export interface ChunkedInput {
  /** Elements in the tensor (every input has this many). */
  length: number;
  /** Number of input models. */
  inputs: number;
  baseIndex?: number;
  modelParams: Record<string, number | boolean>[];
  params: Record<string, number | boolean>;
  shape: readonly number[];
  random: RandomSource;
  /**
   * Set when every chunk will be a view into this kernel memory: the merge may run SIMD kernels on
   * them (giving the same values as its JavaScript loops). It then gets prepare() before the first pass.
   */
  kernels?: Kernels;
}

/** One pass over a tensor's chunks, in order: elements [start, start + chunk length) of every input. */
export type ChunkPass = (start: number, chunks: Float32Array[]) => void;

/**
 * A merge computed in passes over chunks of the inputs, so that memory is bounded by the chunk size
 * and not the tensor's: zero or more statistics passes (magnitude histograms, sums), then the output
 * pass. The caller reads every chunk of every input once per pass.
 */
export interface ChunkedMerge {
  /** Chunks start at multiples of this many elements (whole vectors for methods that rank within them). */
  align: number;
  /**
   * With kernels: called once, before the first pass and after the caller has reserved its own
   * buffers, with the largest chunk it will pass; the merge allocates its kernel memory here.
   */
  prepare?(chunk: number): void;
  /** The next statistics pass, or undefined once only the output pass remains. */
  nextPass(): ChunkPass | undefined;
  /** Writes output elements [start, start + out.length) from the inputs' chunks of that range. */
  output(start: number, chunks: Float32Array[], out: Float32Array): void;
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
  merge(input: MergeInput): Float32Array;
  /**
   * Checks one tensor's parameters without reading its data (weights that cannot be normalised, an
   * integer that is not one): run when the merge is planned, so --dry-run refuses what the run would.
   */
  check?(input: ChunkedInput): void;
  /** The same merge in passes over chunks (bounded memory); methods without it need whole tensors. */
  chunked?(input: ChunkedInput): ChunkedMerge;
  /** For elementwise merges: the formula, so the streamer can run a SIMD kernel for it (undefined: none). */
  simd?(input: ChunkedInput): ElementwiseSpec | undefined;
}

/** A merge method cannot compute this tensor from these inputs and parameters. */
export class MergeMethodError extends DeepenError {
  override readonly name = "MergeMethodError";
}

/** Number of elements a shape describes ([] is a scalar: 1). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks a chunked merge's input: one parameter record per model, a valid baseIndex, a shape of `length` elements. */
export function checkChunkedInput(method: string, input: Omit<ChunkedInput, "random">): void {
  const { length, inputs, modelParams, baseIndex, shape } = input;
  if (inputs === 0) throw new MergeMethodError(`${method}: no input tensors`);
  if (shapeSize(shape) !== length)
    throw new MergeMethodError(`${method}: shape [${shape.join(", ")}] does not hold ${length} values`);
  if (modelParams.length !== inputs)
    throw new MergeMethodError(
      `${method}: ${modelParams.length} per-model parameter sets for ${inputs} tensors`,
    );
  if (baseIndex !== undefined && !(Number.isInteger(baseIndex) && baseIndex >= 0 && baseIndex < inputs))
    throw new MergeMethodError(`${method}: baseIndex ${baseIndex} is not one of the ${inputs} inputs`);
}

/** Checks what every method relies on: tensors of one length matching `shape`, one parameter record per model, a valid baseIndex. */
export function checkInput(method: string, input: MergeInput): number {
  const { tensors } = input;
  if (tensors.length === 0) throw new MergeMethodError(`${method}: no input tensors`);
  const n = tensors[0]!.length;
  for (const [i, t] of tensors.entries()) {
    if (t.length !== n)
      throw new MergeMethodError(`${method}: input ${i} has ${t.length} values, input 0 has ${n}`);
  }
  checkChunkedInput(method, { ...input, length: n, inputs: tensors.length });
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
