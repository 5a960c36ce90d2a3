// The files of a model folder beside its weights, written the same way by every writer (surgery's
// plans, merges, training checkpoints), so that each output loads, tokenizes and explains itself alike.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { carryFiles } from "./carryFiles.js";
import { LINEAGE_FILE, type Lineage } from "./lineage.js";
import { CONFIG_FILE, type ModelConfig } from "./modelFolder.js";

/** The model card: Hugging Face shows it as the model's page. */
export const CARD_FILE = "README.md";

export interface FolderFiles {
  /** The output's config.json. */
  config: ModelConfig;
  /** The folder whose tokenizer files, chat template and generation config are carried unchanged. */
  carryFrom: string;
  /** How the model was made (deepen.json). */
  lineage: Lineage;
  /** The model card's Markdown. */
  card: string;
}

/** Writes config.json, the carried tokenizer files, the lineage and the card into `dir`. */
export async function writeFolderFiles(dir: string, files: FolderFiles): Promise<void> {
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify(files.config, null, 2) + "\n");
  await carryFiles(files.carryFrom, dir);
  await writeFile(join(dir, LINEAGE_FILE), JSON.stringify(files.lineage, null, 2) + "\n");
  await writeFile(join(dir, CARD_FILE), files.card);
}
