import { readFile, stat } from "node:fs/promises";
import { CheckpointError } from "../errors.js";

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
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    // JSON.parse quotes the offending text, newlines and all: keep the message on one line.
    throw new CheckpointError(file, `not valid JSON (${(e as Error).message.replace(/\s+/g, " ")})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CheckpointError(file, "not a JSON object");
  }
  return value as Record<string, unknown>;
}
