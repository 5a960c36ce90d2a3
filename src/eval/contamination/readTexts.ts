// The texts a contamination check scores, read from one file: JSON Lines, a JSON array, gzip of
// either, or Parquet (the readers instruction data uses), whose records give their text by a field;
// or any other file as plain text, one example per non-blank line. Each text keeps where it came
// from (`file:LINE`, `file[INDEX]`, `file row N`) for errors and for the report.

import { describe, readError, readLines } from "../../data/corpus.js";
import type { RawRecord } from "../../data/instruct/jsonRecords.js";
import { openParquet } from "../../data/instruct/parquetRecords.js";
import { instructionFileLayout, jsonRecords } from "../../data/instruct/shapedFile.js";
import { UsageError } from "../../errors.js";

/** The field scored by default when the first record has it. */
export const DEFAULT_FIELD = "text";

export interface TextRecord {
  where: string;
  text: string;
  /** 1 = a member (seen in training), 0 = not; only with a label field. */
  label?: 0 | 1;
}

export interface ReadTextsOptions {
  /** The field (a dotted path reaches into objects) holding the text. */
  field?: string;
  /** The field holding the membership label: 1/0 or true/false. */
  labelField?: string;
  /** The first N examples only. */
  limit?: number;
}

export interface ReadTexts {
  texts: TextRecord[];
  /** The fields each text was read from: one, or several joined with "\n"; none for plain text. */
  fields: string[];
}

/** A record's value at `path`: the key itself when the record has it, else the dotted path walked. */
function valueAt(record: Record<string, unknown>, path: string): { value: unknown } | undefined {
  if (path in record) return { value: record[path] };
  let at: unknown = record;
  for (const key of path.split(".")) {
    if (typeof at !== "object" || at === null || Array.isArray(at) || !(key in at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return { value: at };
}

function stringAt(record: Record<string, unknown>, path: string, where: string): string {
  const found = valueAt(record, path);
  if (!found) throw new UsageError(`${where}: no string field "${path}"`);
  if (typeof found.value !== "string")
    throw new UsageError(`${where}: the "${path}" field is ${describe(found.value)}, not a string`);
  return found.value;
}

/**
 * A membership label: 1/0 or true/false as JSON has them, and the same as strings, which a table
 * converted from CSV carries.
 */
function labelAt(record: Record<string, unknown>, path: string, where: string): 0 | 1 {
  const found = valueAt(record, path);
  if (!found) throw new UsageError(`${where}: no label field "${path}"`);
  const v = found.value;
  if (v === 1 || v === true || v === "1" || v === "true") return 1;
  if (v === 0 || v === false || v === "0" || v === "false") return 0;
  throw new UsageError(
    `${where}: the "${path}" field is ${JSON.stringify(v) ?? describe(v)}; a label is 1/0 or true/false (1 = seen in training)`,
  );
}

/**
 * The fields scored when none is named: "text" if the first record has it, else every top-level
 * string field of the first record in its key order (a GSM8K record is its question, "\n", its answer).
 */
function defaultFields(record: Record<string, unknown>, where: string): string[] {
  if (DEFAULT_FIELD in record) return [DEFAULT_FIELD];
  const strings = Object.keys(record).filter((k) => typeof record[k] === "string");
  if (strings.length === 0)
    throw new UsageError(
      `${where}: no "${DEFAULT_FIELD}" field and no string field to score; name one with --field`,
    );
  return strings;
}

async function* fileRecords(path: string): AsyncGenerator<RawRecord> {
  const { layout, gzip } = instructionFileLayout(path);
  if (layout === "parquet") yield* (await openParquet(path)).records();
  else yield* jsonRecords(path, layout, gzip);
}

const RECORD_FILE = /\.(jsonl|json|parquet)(\.gz)?$/i;

/** Plain text: each non-blank line an example. */
async function readLineTexts(file: string, limit: number): Promise<TextRecord[]> {
  const texts: TextRecord[] = [];
  try {
    for await (const { line, number } of readLines(file, file.toLowerCase().endsWith(".gz"))) {
      if (texts.length >= limit) break;
      if (line.trim() === "") continue;
      // A NUL is never in text; a binary file read as lines would be scored as noise.
      if (line.includes("\u0000")) throw new UsageError(`${file}: binary data, not UTF-8 text`);
      texts.push({ where: `${file}:${number}`, text: line });
    }
  } catch (e) {
    throw readError(file, e);
  }
  return texts;
}

/**
 * The examples of `file`, in order. UsageError (one line naming the file and the record) for a record
 * without the field as a string, a bad label, a file that cannot be read, and a file with no examples.
 */
export async function readTexts(file: string, o: ReadTextsOptions = {}): Promise<ReadTexts> {
  const limit = o.limit ?? Infinity;
  if (!RECORD_FILE.test(file)) {
    if (o.field !== undefined || o.labelField !== undefined)
      throw new UsageError(
        `${file}: plain text (one example per line) has no fields; --field and --label-field read .jsonl, .json and .parquet records`,
      );
    const texts = await readLineTexts(file, limit);
    if (texts.length === 0) throw new UsageError(`${file}: no examples to score`);
    return { texts, fields: [] };
  }
  const texts: TextRecord[] = [];
  let fields = o.field === undefined ? undefined : [o.field];
  for await (const raw of fileRecords(file)) {
    if (texts.length >= limit) break;
    if ("bad" in raw) throw new UsageError(`${raw.where}: ${raw.bad}`);
    fields ??= defaultFields(raw.record, raw.where);
    const text = fields.map((f) => stringAt(raw.record, f, raw.where)).join("\n");
    const item: TextRecord = { where: raw.where, text };
    if (o.labelField !== undefined) item.label = labelAt(raw.record, o.labelField, raw.where);
    texts.push(item);
  }
  if (texts.length === 0) throw new UsageError(`${file}: no examples to score`);
  return { texts, fields: fields ?? [] };
}
