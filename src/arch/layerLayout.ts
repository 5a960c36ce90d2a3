import { join } from "node:path";
import { CheckpointError } from "../errors.js";
import { CONFIG_FILE, type ModelFolder } from "../checkpoint/modelFolder.js";
import type { TensorEntry } from "../checkpoint/safetensorsHeader.js";
import type { ArchFamily } from "./families.js";
import { findFamily } from "./findFamily.js";

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
  const n = model.config[family.layerCountKey];
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
    throw new CheckpointError(
      join(model.dir, CONFIG_FILE),
      `${family.layerCountKey} must be a positive integer, got ${JSON.stringify(n)}`,
    );
  }
  return n;
}

/** Splits a model's tensors by layer and checks every layer has the same tensors. */
export function layerLayout(model: ModelFolder): LayerLayout {
  const family = findFamily(model.config, join(model.dir, CONFIG_FILE));
  const n = layerCount(model, family);
  const layerTensors = Array.from({ length: n }, () => new Map<string, TensorEntry>());
  const head: TensorEntry[] = [];
  const tail: TensorEntry[] = [];
  const prefix = family.layerPrefix;
  for (const [name, entry] of model.tensors) {
    if (name.startsWith(prefix)) {
      const rest = name.slice(prefix.length);
      const dot = rest.indexOf(".");
      const idx = Number(rest.slice(0, dot));
      if (dot > 0 && Number.isInteger(idx) && String(idx) === rest.slice(0, dot)) {
        if (idx >= n) {
          throw new CheckpointError(
            entry.file,
            `tensor ${name} belongs to layer ${idx}, but config.json says ${family.layerCountKey} = ${n}`,
          );
        }
        layerTensors[idx]!.set(rest.slice(dot + 1), entry);
        continue;
      }
    }
    (family.tailTensors.includes(name) ? tail : head).push(entry);
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
