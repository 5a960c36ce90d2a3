import { readFile, stat } from "node:fs/promises";
import { CheckpointError } from "../errors.js";
import { JsonTextError, parseJson } from "./parseJson.js";

/**
 * How deep config.json, an index or a tokenizer file may nest. Hugging Face's files nest a few
 * levels (a tokenizer's Sequence of normalizers inside its pipeline stays under 10); a deeper file is
 * corrupt, and refusing it while parsing keeps it away from the recursive code that would walk it
 * later (JSON.stringify writing a config back overflows the stack near 10,000 levels).
 */
export const MAX_JSON_DEPTH = 64;

/** `text`, the contents of `file`, parsed with a depth limit; a refusal is a CheckpointError naming the file. */
export function parseJsonFile(file: string, text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  try {
    return parseJson(text, { maxDepth });
  } catch (e) {
    if (!(e instanceof JsonTextError)) throw e;
    throw new CheckpointError(file, e.syntax ? `not valid JSON (${e.message})` : e.message);
  }
}

/** Reads a JSON object from `file`, refusing files over `maxBytes` before reading them. */
export async function readJsonObject(
  file: string,
  maxBytes: number,
  missingHint = "",
): Promise<Record<string, unknown>> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      file,
      code === "ENOENT" ? `missing${missingHint}` : `cannot read: ${code ?? String(e)}`,
    );
  }
  if (size > maxBytes)
    throw new CheckpointError(file, `${size} bytes, over the ${maxBytes}-byte limit for this file`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new CheckpointError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const value = parseJsonFile(file, text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CheckpointError(file, "not a JSON object");
  }
  return value as Record<string, unknown>;
}
