// What mergekit-style YAML files (layer-stack recipes and merge configs) share: reading one into a
// mapping, and model references.
import { readFile, stat } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { RecipeError } from "../errors.js";

/** A recipe or merge config is a few KB of YAML; refuse anything that could not be one before reading it. */
export const MAX_YAML_BYTES = 4 * 1024 * 1024;

export type YamlMapping = Record<string, unknown>;
export const isMapping = (v: unknown): v is YamlMapping =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A mergekit YAML file once read: its name (for errors, and to find models beside it) and its mapping. */
export interface YamlFile {
  file: string;
  doc: YamlMapping;
}

/** Reads `file` as a YAML mapping; `expected` says what the mapping should hold, for the error. */
export async function readYamlMapping(
  file: string,
  expected: string,
): Promise<{ text: string; doc: YamlMapping }> {
  const fail = (d: string) => new RecipeError(file, d);
  let text: string;
  try {
    if ((await stat(file)).size > MAX_YAML_BYTES)
      throw fail(`over ${MAX_YAML_BYTES} bytes; not a mergekit config`);
    text = await readFile(file, "utf8");
  } catch (e) {
    if (e instanceof RecipeError) throw e;
    throw fail(`cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw fail(`not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (!isMapping(doc)) throw fail(`expected a YAML mapping with ${expected}`);
  return { text, doc };
}

/** A model reference: a path or Hugging Face id, or mergekit's long form {model: {path}}. */
export function modelRef(v: unknown, where: string, fail: (d: string) => Error): string {
  if (isMapping(v) && isMapping(v.model) && typeof v.model.path === "string") return v.model.path;
  if (typeof v !== "string" || v === "") throw fail(`${where}: model must be a path or a Hugging Face id`);
  if (v.includes("+")) throw fail(`${where}: ${v}: LoRA adapters (model+lora) are not supported`);
  return v;
}
