import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError } from "../errors.js";
import { readJsonObject } from "./jsonFile.js";
import { previewJson } from "./previewJson.js";
import { resolveModel } from "./resolveModel.js";
import { MAX_TENSOR_NAME_CHARS, readSafetensorsHeader, type TensorEntry } from "./safetensorsHeader.js";

export const CONFIG_FILE = "config.json";
export const INDEX_FILE = "model.safetensors.index.json";
/** config.json is a few KB; a multi-MB one is not a config. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** The largest published indexes (MoE models with ~100k tensors) are ~15 MB. */
export const MAX_INDEX_BYTES = 256 * 1024 * 1024;

export type ModelConfig = Record<string, unknown>;

export interface ModelFolder {
  /** The folder as the user named it. */
  input: string;
  /** The folder holding config.json and the weights (a snapshot for a cache path). */
  dir: string;
  name: string;
  config: ModelConfig;
  tensors: Map<string, TensorEntry>;
  /** Absolute paths of the safetensors files, in index order. */
  shards: string[];
}

/** Opens a model folder: config and every tensor's location, without reading any tensor data. */
export async function openModelFolder(input: string): Promise<ModelFolder> {
  const { dir, name } = await resolveModel(input);
  const config = await readJsonObject(
    join(dir, CONFIG_FILE),
    MAX_CONFIG_BYTES,
    ": a Hugging Face model folder needs config.json",
  );
  const shards = await listShards(dir);
  const tensors = new Map<string, TensorEntry>();
  for (const shard of shards.files) {
    const header = await readSafetensorsHeader(shard);
    for (const [tname, entry] of header.tensors) {
      const prev = tensors.get(tname);
      if (prev) throw new CheckpointError(shard, `tensor ${tname} is also in ${prev.file}`);
      tensors.set(tname, entry);
    }
  }
  if (shards.weightMap) {
    for (const [tname, file] of shards.weightMap) {
      const entry = tensors.get(tname);
      if (!entry)
        throw new CheckpointError(join(dir, INDEX_FILE), `tensor ${tname} is not in its shard ${file}`);
      if (entry.file !== join(dir, file)) {
        throw new CheckpointError(
          join(dir, INDEX_FILE),
          `tensor ${tname} is listed in ${file} but found in ${entry.file}`,
        );
      }
    }
  }
  return { input, dir, name, config, tensors, shards: shards.files };
}

async function listShards(dir: string): Promise<{ files: string[]; weightMap?: Map<string, string> }> {
  const indexPath = join(dir, INDEX_FILE);
  if (existsSync(indexPath)) {
    const index = await readJsonObject(indexPath, MAX_INDEX_BYTES);
    const wm = index.weight_map;
    if (typeof wm !== "object" || wm === null || Array.isArray(wm)) {
      throw new CheckpointError(indexPath, "has no weight_map object");
    }
    const weightMap = new Map<string, string>();
    const files: string[] = [];
    for (const [tname, file] of Object.entries(wm as Record<string, unknown>)) {
      if (tname.length > MAX_TENSOR_NAME_CHARS)
        throw new CheckpointError(
          indexPath,
          `tensor name ${previewJson(tname)} has ${tname.length} characters, over the ${MAX_TENSOR_NAME_CHARS}-character limit`,
        );
      if (typeof file !== "string" || file.includes("/") || file.includes("\\") || file.startsWith(".")) {
        throw new CheckpointError(
          indexPath,
          `tensor ${tname} maps to ${previewJson(file)}, not a shard file name`,
        );
      }
      weightMap.set(tname, file);
      const abs = join(dir, file);
      if (!files.includes(abs)) {
        if (!existsSync(abs)) throw new CheckpointError(indexPath, `names shard ${file}, which is missing`);
        files.push(abs);
      }
    }
    if (files.length === 0) throw new CheckpointError(indexPath, "weight_map is empty");
    return { files, weightMap };
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".safetensors"))
    .sort()
    .map((f) => join(dir, f));
  if (files.length === 0) {
    throw new CheckpointError(
      dir,
      "no *.safetensors weights (deepen reads safetensors; convert .bin checkpoints first)",
    );
  }
  return { files };
}
