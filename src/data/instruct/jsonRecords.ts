// The records of a JSON Lines file or a JSON array file (gzip of either), streamed, each with where it
// came from. A line or element that is not a JSON object is returned as bad, not thrown, so that the
// reader can skip it when asked to.

import { describe, openBytes, readError, readLines } from "../corpus.js";
import { JsonArraySplitter } from "./jsonArray.js";

/** A record read, or why the bytes at `where` are not one. */
export type RawRecord = { where: string; record: Record<string, unknown> } | { where: string; bad: string };

const oneLine = (s: string) => s.replace(/\s+/g, " ");

function parseRecord(text: string, where: string): RawRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { where, bad: `not valid JSON (${oneLine((e as Error).message)})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { where, bad: `a record must be a JSON object, not ${describe(value)}` };
  return { where, record: value as Record<string, unknown> };
}

/** The records of a JSON Lines file: `path:LINE`, lines counted from 1, blank lines skipped. */
export async function* jsonlRecords(path: string, gzip: boolean): AsyncGenerator<RawRecord> {
  try {
    for await (const { line, number } of readLines(path, gzip)) {
      if (line.trim() !== "") yield parseRecord(line, `${path}:${number}`);
    }
  } catch (e) {
    throw readError(path, e);
  }
}

/** The records of a JSON array file: `path[INDEX]`, elements counted from 0. */
export async function* jsonArrayRecords(path: string, gzip: boolean): AsyncGenerator<RawRecord> {
  const splitter = new JsonArraySplitter(path);
  let index = 0;
  try {
    for await (const chunk of openBytes(path, gzip) as AsyncIterable<Buffer>) {
      for (const element of splitter.push(chunk))
        yield parseRecord(element.toString("utf8"), `${path}[${index++}]`);
    }
    splitter.end();
  } catch (e) {
    throw readError(path, e);
  }
}

const BOM = [0xef, 0xbb, 0xbf];

/**
 * How a `.json` file is laid out, from its first byte past a BOM and whitespace: `[` opens an array,
 * `{` starts JSON Lines, which is what Hugging Face `datasets` writes by default under a `.json`
 * name (`Dataset.to_json`), so both are read. Undefined for an empty file.
 */
export async function jsonLayout(
  path: string,
  gzip: boolean,
): Promise<"array" | "lines" | "other" | undefined> {
  let at = 0;
  try {
    for await (const chunk of openBytes(path, gzip) as AsyncIterable<Buffer>) {
      for (const b of chunk) {
        const inBom = at < 3 && b === BOM[at];
        at++;
        if (inBom || b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
        return b === 0x5b ? "array" : b === 0x7b ? "lines" : "other";
      }
    }
  } catch (e) {
    throw readError(path, e);
  }
  return undefined;
}
