// Which tensors a model of a family must hold, from its table row and config.json: each layer's
// tensors (the row's layerTensors), the embeddings, the final norm, and lm_head unless the head is
// tied. Surgery, merging and the engine refuse a folder that lacks one before they write or run
// anything: a checkpoint without its final norm would otherwise be copied, merged or evaluated
// without it, with exit status 0. Extra tensors (biases, old rotary inv_freq buffers) are allowed.

import { join } from "node:path";
import { CONFIG_FILE, type ModelConfig } from "../checkpoint/modelFolder.js";
import { previewJson } from "../checkpoint/previewJson.js";
import { CheckpointError } from "../errors.js";
import { configDims } from "./configDims.js";
import type { ArchFamily, Dims } from "./families.js";
import { modelTensorShapes } from "./modelLayout.js";

/** The most routed experts of a published mixture of experts is 384 (Kimi K2); a count past this
 * limit is corruption, refused before it sizes anything. */
export const MAX_EXPERTS = 1024;

/** Mixtral's default when config.json does not say (transformers' MixtralConfig). */
const DEFAULT_EXPERTS = 8;

/** The layer a tensor belongs to (`${prefix}${i}.…`), or undefined for a tensor outside the layers. */
export function layerIndexOf(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  const dot = rest.indexOf(".");
  if (dot <= 0) return undefined;
  const digits = rest.slice(0, dot);
  const idx = Number(digits);
  return Number.isInteger(idx) && String(idx) === digits ? idx : undefined;
}

/**
 * Whether the head reads the embeddings: config.json's tie_word_embeddings, else the family's habit.
 * Any other value is refused: transformers tests it for truth, so "false" or 0 would mean the
 * opposite of what it says to one reader or another.
 */
export function isTied(family: ArchFamily, config: ModelConfig, configFile: string): boolean {
  const t = config.tie_word_embeddings;
  if (t === undefined) return family.tiedByDefault;
  if (typeof t !== "boolean")
    throw new CheckpointError(configFile, `tie_word_embeddings must be true or false, got ${previewJson(t)}`);
  return t;
}

/** Experts per layer of a mixture-of-experts family, from config.json's num_local_experts. */
function expertCount(family: ArchFamily, config: ModelConfig, configFile: string): number {
  if (!family.moe) return 0;
  const e = config.num_local_experts ?? DEFAULT_EXPERTS;
  if (typeof e !== "number" || !Number.isInteger(e) || e < 1 || e > MAX_EXPERTS)
    throw new CheckpointError(
      configFile,
      `num_local_experts must be an integer from 1 to ${MAX_EXPERTS}, got ${previewJson(e)}`,
    );
  return e;
}

/** Every tensor a model of `family` with `layers` layers and these dimensions holds, with its shape. */
export function expectedTensors(
  family: ArchFamily,
  config: ModelConfig,
  configFile: string,
  layers: number,
  dims: Omit<Dims, "experts">,
): [name: string, shape: number[]][] {
  const experts = expertCount(family, config, configFile);
  return modelTensorShapes(family, layers, { ...dims, experts }, isTied(family, config, configFile));
}

const fmt = (shape: readonly number[]) => `[${shape.join(", ")}]`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Refuses a model folder that lacks a tensor its architecture needs (naming the first one missing,
 * and how many more are), or holds one whose shape is not the one config.json's sizes give it:
 * surgery and merging copy config.json, so a config that no longer describes the weights would be
 * written out with them, and no loader could use the result.
 */
export function checkTensorSet(
  model: {
    dir: string;
    config: ModelConfig;
    tensors: ReadonlyMap<string, { shape: readonly number[]; file: string }>;
  },
  family: ArchFamily,
  layers: number,
): void {
  const configFile = join(model.dir, CONFIG_FILE);
  const expected = expectedTensors(
    family,
    model.config,
    configFile,
    layers,
    configDims(model.config, configFile),
  );
  const missing = expected.map(([name]) => name).filter((name) => !model.tensors.has(name));
  if (missing.length > 0) throw missingTensorError(model.dir, family, missing);
  // A tied head that a checkpoint carries anyway is what the engine reads: it must fit too.
  const head = family.decoderTensors.head;
  if (model.tensors.has(head) && !expected.some(([name]) => name === head)) {
    const embed = expected.find(([name]) => name === family.decoderTensors.embed);
    if (embed) expected.push([head, embed[1]]);
  }
  for (const [name, shape] of expected) {
    const t = model.tensors.get(name)!;
    if (!sameShape(t.shape, shape))
      throw new CheckpointError(
        t.file,
        `tensor ${name} is ${fmt(t.shape)}, but config.json's sizes make it ${fmt(shape)}`,
      );
  }
  // A bias the linear layer adds where the checkpoint has one: one value per output row.
  for (const [name, t] of model.tensors) {
    if (!name.endsWith(".bias")) continue;
    const weight = model.tensors.get(`${name.slice(0, -".bias".length)}.weight`);
    if (weight && weight.shape.length === 2 && !sameShape(t.shape, [weight.shape[0]!]))
      throw new CheckpointError(
        t.file,
        `tensor ${name} is ${fmt(t.shape)}, but its weight makes it ${fmt([weight.shape[0]!])}`,
      );
  }
}

export function missingTensorError(dir: string, family: ArchFamily, missing: string[]): CheckpointError {
  const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : "";
  return new CheckpointError(
    dir,
    `has no tensor ${missing[0]}, which ${family.architectures[0]} needs${more}`,
  );
}
