// What mergekit-style YAML files (layer-stack recipes and merge configs) share: reading one into a
// mapping, and model references.
import { open } from "node:fs/promises";
import { formatModelRef, type ModelPath, type ModelRef, parseModelRef } from "../checkpoint/modelRef.js";
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

/** A revision as YAML gives it: a string (an all-digit commit would have been read as a number). */
function checkRevision(
  v: unknown,
  where: string,
  fail: (d: string) => Error,
): asserts v is string | undefined {
  if (v === undefined || (typeof v === "string" && v !== "")) return;
  if (typeof v === "number") throw fail(`${where} was read as a number: quote it`);
  throw fail(`${where} must be a branch, tag or commit`);
}

/** A path and revision as mergekit's long form writes them: `{path, revision}`. */
function modelPathOf(v: unknown, where: string, fail: (d: string) => Error): ModelPath {
  if (!isMapping(v) || typeof v.path !== "string" || v.path === "")
    throw fail(`${where} must be a mapping with path (and revision)`);
  for (const k of Object.keys(v))
    if (k !== "path" && k !== "revision") throw fail(`${where}: unknown key ${k}`);
  checkRevision(v.revision, `${where}.revision`, fail);
  return { path: v.path, revision: v.revision as string | undefined };
}

/**
 * A model reference, as its string form (`PATH[@REV][+ADAPTER[@REV]]`, see checkpoint/modelRef.ts):
 * a path or Hugging Face id as written, or mergekit's long form
 * `{model: {path, revision}, lora: {path, revision}}`. Checked for syntax here, resolved when opened.
 */
export function modelRef(v: unknown, where: string, fail: (d: string) => Error): string {
  let ref: ModelRef;
  if (isMapping(v)) {
    for (const k of Object.keys(v)) {
      if (k === "override_architecture")
        throw fail(
          `${where}: override_architecture is not supported (deepen reads the architecture from config.json)`,
        );
      if (k !== "model" && k !== "lora") throw fail(`${where}: unknown key ${k}`);
    }
    ref = { ...modelPathOf(v.model, `${where}.model`, fail) };
    if (v.lora !== undefined) ref.adapter = modelPathOf(v.lora, `${where}.lora`, fail);
  } else {
    if (typeof v !== "string" || v === "") throw fail(`${where}: model must be a path or a Hugging Face id`);
    try {
      ref = parseModelRef(v);
    } catch (e) {
      throw fail(`${where}: ${(e as Error).message}`);
    }
  }
  return formatModelRef(ref);
}

/** The keys of a source (a `models:` entry or a slice's source). */
export const SOURCE_KEYS: ReadonlySet<string> = new Set(["model", "layer_range", "parameters", "revision"]);

/**
 * The model of a source mapping: its `model`, with a `revision:` written beside it applied (mergekit's
 * schema puts the revision inside the long form; recipes in the wild also write it next to `model`).
 */
export function sourceModel(s: YamlMapping, where: string, fail: (d: string) => Error): string {
  const ref = modelRef(s.model, where, fail);
  if (s.revision === undefined) return ref;
  checkRevision(s.revision, `${where}.revision`, fail);
  const parsed = parseModelRef(ref);
  if (parsed.revision !== undefined && parsed.revision !== s.revision)
    throw fail(`${where}: revision ${s.revision} disagrees with the model's @${parsed.revision}`);
  return formatModelRef({ ...parsed, revision: s.revision });
}
