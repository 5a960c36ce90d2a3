import { join } from "node:path";
import { CheckpointError } from "../errors.js";
import { CONFIG_FILE, type ModelConfig, type ModelFolder } from "../checkpoint/modelFolder.js";
import { previewJson } from "../checkpoint/previewJson.js";
import type { TensorEntry } from "../checkpoint/safetensorsHeader.js";
import type { ArchFamily } from "./families.js";
import { findFamily } from "./findFamily.js";
import { checkTensorSet, layerIndexOf } from "./tensorSet.js";

/**
 * The most layers a config.json may declare. The deepest published decoders have about 130 (Llama
 * 3.1 405B: 126) and depth up-scaling doubles a stack; past 1024 the count is corruption (1e9 would
 * size arrays and graphs by it and exhaust the heap), refused before anything is sized by it.
 */
export const MAX_LAYERS = 1024;

/** A model's tensors sorted into the parts a layer plan moves: before the layers, each layer, after. */
export interface LayerLayout {
  family: ArchFamily;
  model: ModelFolder;
  /** n, the layer count from config.json. */
  layers: number;
  /** Per layer: relative tensor name ("self_attn.q_proj.weight") → entry. */
  layerTensors: Map<string, TensorEntry>[];
  head: TensorEntry[];
  tail: TensorEntry[];
}

export function layerCount(model: ModelFolder, family: ArchFamily): number {
  return checkLayerCount(model.config, family.layerCountKey, join(model.dir, CONFIG_FILE));
}

/** config.json's layer count: a positive integer up to MAX_LAYERS. */
export function checkLayerCount(config: ModelConfig, key: string, configFile: string): number {
  const n = config[key];
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
    throw new CheckpointError(configFile, `${key} must be a positive integer, got ${previewJson(n)}`);
  }
  if (n > MAX_LAYERS)
    throw new CheckpointError(configFile, `${key} = ${n} is over the ${MAX_LAYERS}-layer limit (corrupt?)`);
  return n;
}

/**
 * The layer count config.json gives, checked against the layers the tensors hold: a tensor of a
 * layer past the count, or a count past the last layer with tensors, is refused (the count decides
 * how many layers a plan or the engine uses, so either would silently drop or invent layers).
 */
export function checkLayersPresent(
  tensors: Iterable<{ name: string; file: string }>,
  n: number,
  family: ArchFamily,
  dir: string,
): void {
  let present = 0;
  for (const t of tensors) {
    const idx = layerIndexOf(t.name, family.layerPrefix);
    if (idx === undefined) continue;
    if (idx >= n) {
      throw new CheckpointError(
        t.file,
        `tensor ${t.name} belongs to layer ${idx}, but config.json says ${family.layerCountKey} = ${n}`,
      );
    }
    present = Math.max(present, idx + 1);
  }
  if (present > 0 && present < n)
    throw new CheckpointError(
      join(dir, CONFIG_FILE),
      `${family.layerCountKey} = ${n}, but the weights hold layers 0-${present - 1} only`,
    );
}

/** Splits a model's tensors by layer and checks every layer has the same tensors. */
export function layerLayout(model: ModelFolder): LayerLayout {
  const family = findFamily(model.config, join(model.dir, CONFIG_FILE));
  const n = layerCount(model, family);
  checkLayersPresent(model.tensors.values(), n, family, model.dir);
  const layerTensors = Array.from({ length: n }, () => new Map<string, TensorEntry>());
  const head: TensorEntry[] = [];
  const tail: TensorEntry[] = [];
  const prefix = family.layerPrefix;
  for (const [name, entry] of model.tensors) {
    const idx = layerIndexOf(name, prefix);
    if (idx !== undefined) layerTensors[idx]!.set(name.slice(prefix.length + String(idx).length + 1), entry);
    else (family.tailTensors.includes(name) ? tail : head).push(entry);
  }
  const all = new Set(layerTensors.flatMap((m) => [...m.keys()]));
  if (all.size === 0) {
    throw new CheckpointError(
      model.dir,
      `no tensors named ${prefix}<i>.*: the weights do not match ${family.family}'s layout`,
    );
  }
  for (let i = 0; i < n; i++) {
    for (const rel of all) {
      if (!layerTensors[i]!.has(rel)) {
        const other = layerTensors.findIndex((m) => m.has(rel));
        throw new CheckpointError(
          model.dir,
          `layer ${i} is missing tensor ${prefix}${i}.${rel} (layer ${other} has it)`,
        );
      }
    }
  }
  // Layers agree with each other; now with the architecture and config.json (a norm missing from
  // every layer, or the final norm, would otherwise be written out missing; a wrong size key copied).
  checkTensorSet(model, family, n);
  // Head/tail in a fixed order: family table order first, then by name, so output bytes never depend on shard order.
  const order = (list: TensorEntry[], known: string[]) =>
    list.sort(
      (a, b) => rank(a.name, known) - rank(b.name, known) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
  order(head, family.headTensors);
  order(tail, family.tailTensors);
  // Within a layer, tensors go by name, for the same reason.
  const sortedLayers = layerTensors.map(
    (m) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
  return { family, model, layers: n, layerTensors: sortedLayers, head, tail };
}

function rank(name: string, known: string[]): number {
  const i = known.indexOf(name);
  return i < 0 ? known.length : i;
}
