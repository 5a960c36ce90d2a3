// Instruction-tuning data: files and folders of JSON Lines, JSON arrays (gzip of either) and Parquet,
// streamed as normalised examples. Each file's record shape is told from its first record's fields
// (a Parquet file's from its columns) unless the caller names one.

import { UsageError } from "../../errors.js";
import { listInputFiles, noInputFiles, type ListOptions } from "../corpus.js";
import { isEmbedded } from "../embeddedCorpus.js";
import { BadRecord } from "./badRecord.js";
import {
  acceptedShapes,
  detectFormat,
  fieldList,
  requiredFields,
  type InstructionExample,
  type InstructionFormat,
} from "./formats.js";
import { jsonArrayRecords, jsonLayout, jsonlRecords, type RawRecord } from "./jsonRecords.js";
import { openParquet } from "./parquetRecords.js";
import { toExample } from "./toExample.js";

/** What a folder is read for unless --ext says otherwise (.gz of .jsonl and .json counts too). */
export const INSTRUCTION_EXTENSIONS: readonly string[] = ["jsonl", "json", "parquet"];

export interface InstructionReadOptions extends ListOptions {
  /** The record shape of every file; by default each file's is told from its first record. */
  format?: InstructionFormat;
  /** Skip a bad record (invalid JSON, a wrong field, no assistant turn…) instead of throwing; a bad
   * file (unreadable, unknown shape or extension) still throws. */
  skipBad?: boolean;
  /** Told of each record skipped under skipBad: where it is and why. */
  onBad?: (where: string, reason: string) => void;
  /** Told each file's shape when its first record is reached (a file with no records is not told). */
  onFile?: (path: string, format: InstructionFormat) => void;
}

type Layout = "jsonl" | "json" | "parquet";

/** How a file is read, from its name. UsageError for any other name. */
export function instructionFileLayout(path: string): { layout: Layout; gzip: boolean } {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith(".gz");
  const inner = gzip ? lower.slice(0, -3) : lower;
  if (inner.endsWith(".parquet")) {
    if (gzip)
      throw new UsageError(
        `${path}: Parquet compresses its own pages; give the .parquet file, not gzip of it`,
      );
    return { layout: "parquet", gzip };
  }
  if (inner.endsWith(".jsonl")) return { layout: "jsonl", gzip };
  if (inner.endsWith(".json")) return { layout: "json", gzip };
  throw new UsageError(
    `${path}: not an instruction-data file (deepen reads .jsonl, .json, .parquet, and .gz of .jsonl or .json)`,
  );
}

/** The records of a JSON or JSONL file, laid out as its first byte says for `.json`. */
async function* jsonRecords(
  path: string,
  layout: "json" | "jsonl",
  gzip: boolean,
): AsyncGenerator<RawRecord> {
  if (layout === "jsonl") return yield* jsonlRecords(path, gzip);
  const found = await jsonLayout(path, gzip);
  if (found === "array") yield* jsonArrayRecords(path, gzip);
  else if (found === "lines") yield* jsonlRecords(path, gzip);
  else if (found === "other")
    throw new UsageError(`${path}: neither a JSON array of objects nor JSON Lines (one object per line)`);
}

/** A Parquet file's rows, after checking its columns hold the shape (named or detected). */
async function parquetRecords(
  path: string,
  forced: InstructionFormat | undefined,
): Promise<{ format: InstructionFormat; records: AsyncGenerator<RawRecord> }> {
  const parquet = await openParquet(path);
  const format = forced ?? detectFormat(parquet.columns);
  if (format === undefined)
    throw new UsageError(
      `${path}: no columns of a known shape; it has ${fieldList(parquet.columns)} (accepted: ${acceptedShapes()})`,
    );
  const missing = requiredFields(format).filter((f) => !parquet.columns.includes(f));
  if (missing.length > 0)
    throw new UsageError(
      `${path}: the ${format} shape needs column ${missing.join(", ")}; it has ${fieldList(parquet.columns)}`,
    );
  return { format, records: parquet.records() };
}

/**
 * The examples of one file, in order. UsageError (one line naming the file and the line, element or
 * row) for a bad file, or for a bad record unless `skipBad`.
 */
export async function* readInstructionFile(
  path: string,
  opts: InstructionReadOptions = {},
): AsyncGenerator<InstructionExample> {
  const { layout, gzip } = instructionFileLayout(path);
  let format = opts.format;
  let records: AsyncGenerator<RawRecord>;
  if (layout === "parquet") ({ format, records } = await parquetRecords(path, opts.format));
  else records = jsonRecords(path, layout, gzip);

  const bad = (where: string, reason: string) => {
    if (!opts.skipBad) throw new UsageError(`${where}: ${reason}`);
    opts.onBad?.(where, reason);
  };
  let told = false;
  for await (const raw of records) {
    if ("bad" in raw) {
      bad(raw.where, raw.bad);
      continue;
    }
    if (format === undefined) {
      const fields = Object.keys(raw.record);
      format = detectFormat(fields);
      if (format === undefined)
        throw new UsageError(
          `${raw.where}: cannot tell the record shape from its fields (${fieldList(fields)}); ` +
            `accepted: ${acceptedShapes()}, or name one with --format`,
        );
    }
    if (!told) {
      opts.onFile?.(path, format);
      told = true;
    }
    let example: InstructionExample;
    try {
      example = toExample(raw.record, format, raw.where);
    } catch (e) {
      if (!(e instanceof BadRecord)) throw e;
      bad(raw.where, e.message);
      continue;
    }
    yield example;
  }
}

/**
 * Every example of `paths`, in order: a file as itself, a folder as its files with one of
 * `extensions` (default INSTRUCTION_EXTENSIONS) sorted by path. UsageError when a path does not
 * exist, when no file is found, and as readInstructionFile says; an empty file yields nothing.
 */
export async function* readInstructionExamples(
  paths: readonly string[],
  opts: InstructionReadOptions = {},
): AsyncGenerator<InstructionExample> {
  if (paths.length === 0) throw new UsageError("no input files or folders given");
  const embedded = paths.find(isEmbedded);
  if (embedded !== undefined)
    throw new UsageError(
      `${embedded}: the embedded corpora are plain text for pretraining, not instruction data`,
    );
  const extensions = opts.extensions ?? INSTRUCTION_EXTENSIONS;
  const files = await listInputFiles(paths, { ...opts, extensions });
  if (files.length === 0) throw noInputFiles(paths, extensions);
  for (const file of files) yield* readInstructionFile(file.path, opts);
}
