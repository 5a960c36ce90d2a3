import { basename } from "node:path";
import { CheckpointError } from "../errors.js";
import type { GgufFile, GgufTensor } from "../checkpoint/gguf/readGguf.js";
import { metaNumber, metaString } from "../checkpoint/gguf/ggufMetadata.js";
import { ggufHfLayerNames } from "./ggufArch.js";
import { MAX_LAYERS } from "./layerLayout.js";

// llama.cpp's GGUF naming (gguf-py/gguf/constants.py): every architecture puts its decoder layers
// under blk.N. and counts them in {arch}.block_count; the rest (token_embd, output_norm, output,
// rope_freqs, ...) belongs to no layer.

/** The prefix of every per-layer tensor name in a GGUF file. */
export const GGUF_LAYER_PREFIX = "blk.";

/**
 * The tensors that write into the residual stream, by name within a layer: attention output and
 * FFN down projections (dense, and the experts' and shared expert's of MoE models). Block expansion
 * zeroes them so an inserted block starts as the identity.
 */
export const GGUF_RESIDUAL_WRITERS = /^(attn_output|ffn_down|ffn_down_exps|ffn_down_shexp)\.(weight|bias)$/;

/**
 * The Hugging Face name of layer tensor `rel` ("attn_output.weight") of layer j in a model of
 * llama.cpp architecture `arch`, if its row names it: what a recipe's scale filters match.
 */
export function hfLayerName(arch: string, j: number, rel: string): string | undefined {
  const dot = rel.lastIndexOf(".");
  const hf = ggufHfLayerNames(arch)[dot < 0 ? rel : rel.slice(0, dot)];
  return hf === undefined ? undefined : `model.layers.${j}.${hf}${dot < 0 ? "" : rel.slice(dot)}`;
}

/** A GGUF model's tensors sorted into the parts a layer plan moves, like LayerLayout for folders. */
export interface GgufLayout {
  format: "gguf";
  gguf: GgufFile;
  /** general.name, else the file's name. */
  name: string;
  path: string;
  /** general.architecture ("llama"): the prefix of the model's own metadata keys. */
  architecture: string;
  /** n, {arch}.block_count. */
  layers: number;
  /** Per layer: name within the layer ("attn_q.weight") → tensor, in file order. */
  layerTensors: Map<string, GgufTensor>[];
  /** Tensors of no layer that come before the first layer tensor in the file, and after it. */
  head: GgufTensor[];
  tail: GgufTensor[];
}

export const blockCountKey = (arch: string) => `${arch}.block_count`;

/** The layer index and in-layer name of a blk.N.* tensor, or undefined for any other name. */
export function ggufLayerOf(name: string): { layer: number; rel: string } | undefined {
  const m = /^blk\.(0|[1-9]\d{0,5})\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), rel: m[2]! } : undefined;
}

/**
 * Splits a GGUF model by layer and checks its layer count: {arch}.block_count must be a positive
 * integer up to MAX_LAYERS, every layer below it must have tensors, and no tensor may belong to a
 * layer past it (the count decides how many layers llama.cpp builds and a plan copies).
 */
export function ggufLayout(g: GgufFile): GgufLayout {
  const fail = (d: string) => new CheckpointError(g.file, d);
  const arch = metaString(g.metadata, "general.architecture");
  if (!arch) throw fail("no general.architecture: not a model llama.cpp can load");
  const splits = metaNumber(g.metadata, "split.count");
  if (splits !== undefined && splits > 1) {
    throw fail(
      `part of a model split into ${splits} files: merge it first (llama-gguf-split --merge), then up-scale`,
    );
  }
  const key = blockCountKey(arch);
  const n = metaNumber(g.metadata, key);
  if (n === undefined) throw fail(`no ${key}: not a layered ${arch} model`);
  if (!Number.isInteger(n) || n <= 0) throw fail(`${key} must be a positive integer, got ${n}`);
  if (n > MAX_LAYERS) throw fail(`${key} = ${n} is over the ${MAX_LAYERS}-layer limit (corrupt?)`);
  const layerTensors = Array.from({ length: n }, () => new Map<string, GgufTensor>());
  const head: GgufTensor[] = [];
  const tail: GgufTensor[] = [];
  let seenLayer = false;
  for (const t of g.tensors) {
    const at = ggufLayerOf(t.name);
    if (!at) {
      (seenLayer ? tail : head).push(t);
      continue;
    }
    if (at.layer >= n) throw fail(`tensor ${t.name} belongs to layer ${at.layer}, but ${key} = ${n}`);
    seenLayer = true;
    layerTensors[at.layer]!.set(at.rel, t);
  }
  const empty = layerTensors.findIndex((m) => m.size === 0);
  if (empty >= 0)
    throw fail(`${key} = ${n}, but layer ${empty} has no tensors (${GGUF_LAYER_PREFIX}${empty}.*)`);
  const name = metaString(g.metadata, "general.name") ?? basename(g.file).replace(/\.gguf$/i, "");
  return {
    format: "gguf",
    gguf: g,
    name,
    path: g.file,
    architecture: arch,
    layers: n,
    layerTensors,
    head,
    tail,
  };
}
