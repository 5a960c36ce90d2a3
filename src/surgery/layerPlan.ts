import type { LayerLayout } from "../arch/layerLayout.js";
import type { DType } from "../checkpoint/dtype.js";
import { finiteOnly } from "../checkpoint/finiteCheck.js";
import { numel, type TensorEntry } from "../checkpoint/safetensorsHeader.js";
import { type OutputTensor, tensorFrom, zerosLike } from "../checkpoint/tensorStream.js";
import { UsageError } from "../errors.js";
import { evaluateSetting, type ParameterSetting } from "../mergekit/scaleRules.js";

/** Where one output layer comes from. */
export interface LayerSource {
  /** Index into LayerPlan.models. */
  model: number;
  layer: number;
  /** Scale settings, most specific first (source, slice, recipe); the first that gives a value wins. */
  scale?: ParameterSetting[];
  /** The layer's position in its slice, in [0, 1]: where gradients are read. */
  t?: number;
  /** Zero the tensors that write into the residual stream, so the block starts as the identity. */
  identity?: boolean;
}

export type PlanMethod = "dus" | "passthrough" | "expand";

/** What choosing layers needs to know of a source model: how many it has. A model folder's
 * LayerLayout and a GGUF file's GgufLayout both are one, so DUS, expansion and recipes plan either. */
export interface StackLayout {
  layers: number;
}

/**
 * A layer plan: for each output layer, which model and layer it comes from. DUS, passthrough
 * recipes and block expansion all build one; writePlan (folders) and writeGgufPlan (GGUF) execute it.
 */
export interface LayerPlan<M extends StackLayout = LayerLayout> {
  method: PlanMethod;
  models: M[];
  layers: LayerSource[];
  /** The model whose embeddings (tensors before the layers) the output takes. */
  headFrom: number;
  /** The model whose config.json (and other settings) the output takes. */
  configFrom: number;
  /** The model whose tokenizer files, chat template and generation config the output takes. */
  tokenizerFrom: number;
  /** The model whose final norm and head the output takes. */
  tailFrom: number;
  /** Output dtype for float tensors; undefined keeps each tensor's own. */
  dtype?: DType;
  /** Output layers that did not exist in any input (identity blocks), for later training of only those. */
  newLayers: number[];
  /** What built the plan, recorded in the model card and lineage. */
  recipe: Record<string, unknown>;
  /** What the user should know about the plan itself (printed, and kept in the card). */
  warnings?: string[];
}

/** The scale a layer source gives tensor `name`; filters may also match `alias` (a GGUF tensor's Hugging Face name). */
export function scaleFor(src: LayerSource, name: string, alias?: string): number {
  for (const s of src.scale ?? []) {
    const v = evaluateSetting(s, alias === undefined ? name : [name, alias], src.t ?? 0);
    if (v !== undefined) {
      if (!Number.isFinite(v)) throw new UsageError(`scale for ${name} is ${v}; it must be a finite number`);
      return v;
    }
  }
  return 1;
}

const NON_FINITE_WHY = "scaling or converting it leaves the dtype's range, or the input holds Inf or NaN";

/**
 * Every output tensor of a plan, in file order: embeddings, layers 0…L−1, final norm and head. Those
 * whose values are computed (scaled, or converted to another dtype) are checked for Inf and NaN as
 * they are written unless `allowNonFinite`; a byte-for-byte copy cannot make one and is not scanned.
 */
export function planTensors(plan: LayerPlan, check: { allowNonFinite?: boolean } = {}): OutputTensor[] {
  const opts = { dtype: plan.dtype };
  const from = (name: string, entry: TensorEntry, scale = 1): OutputTensor => {
    const t = tensorFrom(name, entry, { ...opts, scale });
    const copied = t.dtype === entry.dtype && scale === 1;
    return copied || scale === 0 || check.allowNonFinite ? t : finiteOnly(t, NON_FINITE_WHY);
  };
  const out: OutputTensor[] = [];
  for (const e of plan.models[plan.headFrom]!.head) out.push(from(e.name, e));
  plan.layers.forEach((src, j) => {
    const layout = plan.models[src.model]!;
    for (const [rel, entry] of layout.layerTensors[src.layer]!) {
      const name = `${layout.family.layerPrefix}${j}.${rel}`;
      if (src.identity && layout.family.residualWriters.test(rel))
        out.push(zerosLike(name, entry, plan.dtype));
      else out.push(from(name, entry, scaleFor(src, name)));
    }
  });
  for (const e of plan.models[plan.tailFrom]!.tail) out.push(from(e.name, e));
  return out;
}

export function parameterCount(tensors: readonly OutputTensor[]): number {
  return tensors.reduce((a, t) => a + numel(t.shape), 0);
}

/** "0-23 ← base 0-23; 24-47 ← base 8-31": runs of consecutive source layers, for people to read. */
export function describeLayerMap(plan: LayerPlan<StackLayout>, names: string[]): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let j = 1; j <= plan.layers.length; j++) {
    const a = plan.layers[j - 1]!;
    const b = plan.layers[j];
    const continues =
      b &&
      b.model === a.model &&
      b.layer === a.layer + 1 &&
      !b.identity &&
      !a.identity &&
      b.scale === a.scale;
    if (continues) continue;
    const first = plan.layers[start]!;
    const out = start === j - 1 ? `${start}` : `${start}-${j - 1}`;
    const src = first.layer === a.layer ? `${first.layer}` : `${first.layer}-${a.layer}`;
    lines.push(`${out} <- ${names[first.model]} ${src}${first.identity ? " (identity copy)" : ""}`);
    start = j;
  }
  return lines;
}
