// What the instruction and the preference readers share: listing the input files, telling how a file
// is laid out from its name, streaming its raw records, naming its record shape (forced or detected
// from its first record) and turning each record into an item, a bad record either thrown as one line
// naming the file and record or, with skipBad, skipped and reported. Each reader brings its own table
// of shapes and its converter; the way files are read stays one piece of code.

import { UsageError } from "../../errors.js";
import { listInputFiles, noInputFiles, type InputFile, type ListOptions } from "../corpus.js";
import { isEmbedded } from "../embeddedCorpus.js";
import { BadRecord } from "./badRecord.js";
import { fieldList } from "./formats.js";
import { jsonArrayRecords, jsonLayout, jsonlRecords, type RawRecord } from "./jsonRecords.js";
import { openParquet } from "./parquetRecords.js";

/** What a folder is read for unless --ext says otherwise (.gz of .jsonl and .json counts too). */
export const INSTRUCTION_EXTENSIONS: readonly string[] = ["jsonl", "json", "parquet"];

/** The record shapes one reader knows. */
export interface ShapeTable<F extends string> {
  /** The fields each shape needs, in the order detection tries them. */
  shapes: readonly { format: F; fields: readonly string[] }[];
  /** The shape of a file whose first record is `record`, if any. Most shapes are told by field
   * names alone; a table may look at values too (a field that is a string in one shape and a list
   * of messages in another). */
  detect(record: Record<string, unknown>): F | undefined;
}

/** The shapes of a table for an error message: "messages (messages), sharegpt (conversations), …". */
export function shapeList(shapes: ShapeTable<string>["shapes"]): string {
  return shapes.map((r) => `${r.format} (${r.fields.join("+")})`).join(", ");
}

export interface ShapedReadOptions<F extends string> extends ListOptions {
  /** The record shape of every file; by default each file's is told from its first record. */
  format?: F;
  /** Skip a bad record (invalid JSON, a wrong field…) instead of throwing; a bad file (unreadable,
   * unknown shape or extension) still throws. */
  skipBad?: boolean;
  /** Told of each record skipped under skipBad: where it is and why. */
  onBad?: (where: string, reason: string) => void;
  /** Told each file's shape when its first record is reached (a file with no records is not told). */
  onFile?: (path: string, format: F) => void;
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
export async function* jsonRecords(
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

/**
 * A Parquet file's rows, after checking its columns could hold a shape: the named one's fields, or
 * some shape's when detecting, so that a file of no known shape is refused even with no rows.
 */
async function parquetRecords<F extends string>(
  path: string,
  table: ShapeTable<F>,
  forced: F | undefined,
): Promise<AsyncGenerator<RawRecord>> {
  const parquet = await openParquet(path);
  const have = (fields: readonly string[]) => fields.filter((f) => !parquet.columns.includes(f));
  if (forced === undefined) {
    if (!table.shapes.some((s) => have(s.fields).length === 0))
      throw new UsageError(
        `${path}: no columns of a known shape; it has ${fieldList(parquet.columns)} (accepted: ${shapeList(table.shapes)})`,
      );
  } else {
    const missing = have(table.shapes.find((s) => s.format === forced)?.fields ?? []);
    if (missing.length > 0)
      throw new UsageError(
        `${path}: the ${forced} shape needs column ${missing.join(", ")}; it has ${fieldList(parquet.columns)}`,
      );
  }
  return parquet.records();
}

/**
 * The items of one file, in order: each record of it converted as its shape says. `convert` throws
 * BadRecord for a record it cannot read and returns undefined for one to pass over silently (the
 * caller has reported it). UsageError (one line naming the file and the line, element or row) for a
 * bad file, or for a bad record unless `skipBad`.
 */
export async function* readShapedFile<F extends string, T>(
  path: string,
  table: ShapeTable<F>,
  opts: ShapedReadOptions<F>,
  convert: (record: Record<string, unknown>, format: F, where: string) => T | undefined,
): AsyncGenerator<T> {
  const { layout, gzip } = instructionFileLayout(path);
  const records =
    layout === "parquet" ? await parquetRecords(path, table, opts.format) : jsonRecords(path, layout, gzip);

  const bad = (where: string, reason: string) => {
    if (!opts.skipBad) throw new UsageError(`${where}: ${reason}`);
    opts.onBad?.(where, reason);
  };
  let format = opts.format;
  let told = false;
  for await (const raw of records) {
    if ("bad" in raw) {
      bad(raw.where, raw.bad);
      continue;
    }
    if (format === undefined) {
      format = table.detect(raw.record);
      if (format === undefined)
        throw new UsageError(
          `${raw.where}: cannot tell the record shape from its fields (${fieldList(Object.keys(raw.record))}); ` +
            `accepted: ${shapeList(table.shapes)}, or name one with --format`,
        );
    }
    if (!told) {
      opts.onFile?.(path, format);
      told = true;
    }
    let item: T | undefined;
    try {
      item = convert(raw.record, format, raw.where);
    } catch (e) {
      if (!(e instanceof BadRecord)) throw e;
      bad(raw.where, e.message);
      continue;
    }
    if (item !== undefined) yield item;
  }
}

/**
 * The files `paths` name, in order: a file as itself, a folder as its files with one of `extensions`
 * (default INSTRUCTION_EXTENSIONS) sorted by path. UsageError when no path is given, for the embedded
 * pretraining corpora (`what` names the data wanted instead), when a path does not exist and when no
 * file is found.
 */
export async function listRecordFiles(
  paths: readonly string[],
  opts: ListOptions,
  what: string,
): Promise<InputFile[]> {
  if (paths.length === 0) throw new UsageError("no input files or folders given");
  const embedded = paths.find(isEmbedded);
  if (embedded !== undefined)
    throw new UsageError(`${embedded}: the embedded corpora are plain text for pretraining, not ${what}`);
  const extensions = opts.extensions ?? INSTRUCTION_EXTENSIONS;
  const files = await listInputFiles(paths, { ...opts, extensions });
  if (files.length === 0) throw noInputFiles(paths, extensions);
  return files;
}
