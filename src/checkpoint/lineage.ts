import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError } from "../errors.js";
import { parseJsonFile } from "./jsonFile.js";

/** Written beside the weights of every deepen output: how the model was made, for people and for later steps. */
export const LINEAGE_FILE = "deepen.json";
/** A lineage is a few KB per generation; a huge one is not ours. */
const MAX_LINEAGE_BYTES = 16 * 1024 * 1024;
/** Each generation nests its parents about three levels deeper; 1024 levels is ~300 generations,
 * and stays far below the depth where writing the lineage back (JSON.stringify) overflows the stack. */
const MAX_LINEAGE_DEPTH = 1024;

export interface Lineage {
  deepen_version: string;
  method: string;
  recipe: Record<string, unknown>;
  sources: { name: string; path: string; architecture: string; layers: number }[];
  /** For each output layer: the source model (index into sources) and its layer. */
  layer_map: { model: number; layer: number; identity?: boolean }[];
  /** Output layers that are new (identity blocks): what `--train-layers new` trains. */
  new_layers: number[];
  parameters: number;
  /** The lineages of sources that were deepen outputs themselves. */
  parents: Lineage[];
  /** Training runs applied after the surgery (continued pretraining, …), oldest first. */
  training?: unknown[];
}

/** A GGUF file keeps its lineage as JSON text under this metadata key (llama.cpp ignores keys it does not know). */
export const GGUF_LINEAGE_KEY = "deepen.lineage";

export async function readLineage(dir: string): Promise<Lineage | undefined> {
  const file = join(dir, LINEAGE_FILE);
  if (!existsSync(file)) return undefined;
  return parseLineage(file, await readFile(file, "utf8"));
}

/** A lineage from its JSON text; `file` names where it was read in errors. */
export function parseLineage(file: string, text: string): Lineage {
  if (text.length > MAX_LINEAGE_BYTES) throw new CheckpointError(file, "too large to be a deepen lineage");
  const value = parseJsonFile(file, text, MAX_LINEAGE_DEPTH) as Lineage;
  if (
    typeof value !== "object" ||
    value === null ||
    !Array.isArray(value.sources) ||
    !Array.isArray(value.layer_map) ||
    !Array.isArray(value.parents)
  ) {
    throw new CheckpointError(file, "not a deepen lineage (needs sources, layer_map and parents)");
  }
  return value;
}

/** The lineages of those folders that are deepen outputs, in order: a new output's `parents`. */
export async function readParentLineages(dirs: readonly string[]): Promise<Lineage[]> {
  const parents: Lineage[] = [];
  for (const dir of dirs) {
    const p = await readLineage(dir);
    if (p) parents.push(p);
  }
  return parents;
}
