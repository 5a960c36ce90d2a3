// What mergekit-style YAML files (layer-stack recipes and merge configs) share: reading one into a
// mapping, and model references.
import { open } from "node:fs/promises";
import { RecipeError } from "../errors.js";
import { parsePlainYaml } from "./plainYaml.js";

/**
 * A recipe or merge config is a few KB of YAML (a chat template written out adds up to 30); refuse
 * anything that could not be one, before parsing: the yaml package spends microseconds and hundreds
 * of bytes per node, so 256 KiB of the worst YAML (one-character items, nesting at the limit) takes
 * up to two seconds and a few hundred MB (a busy 2-core VM); 1 MiB of it took six seconds.
 */
export const MAX_YAML_BYTES = 256 * 1024;

export type YamlMapping = Record<string, unknown>;
export const isMapping = (v: unknown): v is YamlMapping =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A mergekit YAML file once read: its name (for errors, and to find models beside it) and its mapping. */
export interface YamlFile {
  file: string;
  doc: YamlMapping;
}

/**
 * The file's text, read up to one byte past MAX_YAML_BYTES whatever its size says (a pipe or a
 * device says 0), so that nothing bigger is ever held.
 */
async function readBounded(file: string, fail: (d: string) => RecipeError): Promise<string> {
  let fh;
  try {
    fh = await open(file, "r");
    const buf = Buffer.alloc(MAX_YAML_BYTES + 1);
    let n = 0;
    while (n < buf.byteLength) {
      const { bytesRead } = await fh.read(buf, n, buf.byteLength - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > MAX_YAML_BYTES)
      throw fail(`over ${MAX_YAML_BYTES} bytes; a mergekit config or task file is a few KB`);
    return buf.toString("utf8", 0, n);
  } catch (e) {
    if (e instanceof RecipeError) throw e;
    throw fail(`cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  } finally {
    await fh?.close();
  }
}

/** Reads `file` as a YAML mapping; `expected` says what the mapping should hold, for the error. */
export async function readYamlMapping(
  file: string,
  expected: string,
): Promise<{ text: string; doc: YamlMapping }> {
  const fail = (d: string) => new RecipeError(file, d);
  const text = await readBounded(file, fail);
  const doc = parsePlainYaml(text, fail);
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
