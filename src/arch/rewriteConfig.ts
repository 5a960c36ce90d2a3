import { join } from "node:path";
import { type DType, torchName } from "../checkpoint/dtype.js";
import { CONFIG_FILE, type ModelConfig } from "../checkpoint/modelFolder.js";
import { previewJson } from "../checkpoint/previewJson.js";
import { CheckpointError } from "../errors.js";
import type { LayerLayout } from "./layerLayout.js";

/**
 * Where each output layer comes from, as far as the config is concerned: a surgery plan is one,
 * and a merge builds one from its first source's layers.
 */
export interface LayerMap {
  models: LayerLayout[];
  /** For each output layer: its source model (index into models) and that model's layer. */
  layers: { model: number; layer: number }[];
  /** The model whose config.json the output takes. */
  configFrom: number;
  /** Output dtype for float tensors; undefined keeps the config's. */
  dtype?: DType;
}

export interface RewrittenConfig {
  config: ModelConfig;
  /** Things a user should know about the new config (shown by the CLI and written to the card). */
  warnings: string[];
}

const same = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((v, i) => JSON.stringify(v) === JSON.stringify(b[i]));

/**
 * A per-layer key that is neither a list nor null cannot be rewritten layer by layer, and copying it
 * would describe layers the output does not have; layer_types' entries name attention kinds.
 */
function checkLayerArray(key: string, value: unknown, configFile: string): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value))
    throw new CheckpointError(configFile, `${key} must list one value per layer, got ${previewJson(value)}`);
  const bad = key === "layer_types" ? value.find((t) => typeof t !== "string") : undefined;
  if (bad !== undefined)
    throw new CheckpointError(
      configFile,
      `layer_types has ${previewJson(bad)}, which is not an attention kind`,
    );
}

/**
 * The output's config.json: the config source's, with the layer count and every per-layer
 * setting rewritten so that output layer j behaves as the source layer it was copied from.
 */
export function rewriteConfig(plan: LayerMap): RewrittenConfig {
  const layouts = plan.models;
  const family = layouts[plan.configFrom]!.family;
  const config: ModelConfig = structuredClone(layouts[plan.configFrom]!.model.config);
  const warnings: string[] = [];
  const L = plan.layers.length;
  const srcN = layouts.map((l) => l.layers);
  config[family.layerCountKey] = L;

  // Per-layer arrays: output layer j takes its source layer's entry.
  for (const key of family.layerArrays) {
    const arrays = layouts.map((l) => l.model.config[key]);
    arrays.forEach((arr, m) => checkLayerArray(key, arr, join(layouts[m]!.model.dir, CONFIG_FILE)));
    if (!arrays.some(Array.isArray)) continue;
    config[key] = plan.layers.map((src) => {
      const arr = arrays[src.model];
      if (!Array.isArray(arr) || arr.length !== srcN[src.model]) {
        const implied =
          key === "layer_types"
            ? family.impliedLayerTypes?.(layouts[src.model]!.model.config, srcN[src.model]!)
            : undefined;
        if (implied) return implied[src.layer];
        const file = join(layouts[src.model]!.model.dir, CONFIG_FILE);
        const len = Array.isArray(arr) ? arr.length : 0;
        throw new CheckpointError(
          file,
          `${key} has ${len} entries, but the model has ${srcN[src.model]} layers`,
        );
      }
      return arr[src.layer];
    });
  }

  // Thresholds that count layers: keep the same source layers below the threshold.
  for (const key of family.layerThresholds) {
    const t = config[key];
    if (typeof t !== "number") continue;
    config[key] = plan.layers.filter((src) => {
      const st = layouts[src.model]!.model.config[key];
      return src.layer < (typeof st === "number" ? st : srcN[src.model]!);
    }).length;
  }

  // Patterns loaders derive from the layer index (Gemma 2/3, Qwen's sliding window): if the new
  // index would give a layer another attention kind than its source had, write layer_types explicitly.
  if (family.impliedLayerTypes && !Array.isArray(config.layer_types)) {
    const mapped = plan.layers.map((src) => {
      const c = layouts[src.model]!.model.config;
      const types = Array.isArray(c.layer_types)
        ? c.layer_types
        : family.impliedLayerTypes!(c, srcN[src.model]!);
      return types[src.layer];
    });
    const implied = family.impliedLayerTypes(config, L);
    if (!same(mapped, implied)) {
      config.layer_types = mapped;
      const differ = mapped.flatMap((t, j) => (t !== implied[j] ? [j] : []));
      warnings.push(
        `config.json gains layer_types: layers ${differ.join(", ")} keep their source's attention kind, ` +
          `which the ${family.family} index pattern alone would change; loaders that ignore layer_types ` +
          `(transformers before 4.53, llama.cpp) will run those layers with the other kind`,
      );
    }
  }

  // Arrays as long as the old depth that no table row names: probably per-layer, left alone.
  for (const [key, v] of Object.entries(config)) {
    if (
      Array.isArray(v) &&
      !family.layerArrays.includes(key) &&
      key !== "architectures" &&
      srcN.includes(v.length) &&
      v.length !== L
    ) {
      warnings.push(
        `config key ${key} has one entry per source layer but is not in deepen's table for ${family.family}: left unchanged`,
      );
    }
  }

  if (plan.dtype) {
    if ("torch_dtype" in config || !("dtype" in config)) config.torch_dtype = torchName(plan.dtype);
    if ("dtype" in config) config.dtype = torchName(plan.dtype);
  }
  return { config, warnings };
}
