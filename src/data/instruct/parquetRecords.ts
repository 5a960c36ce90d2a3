// The rows of a Parquet file as records, read one row group at a time with hyparquet, so a file of
// any size costs the memory of its largest row group. Values are made to look as they would in JSON,
// so that a record is the same whichever file format carried it.

import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type AsyncBuffer,
  type FileMetaData,
} from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { UsageError } from "../../errors.js";
import type { RawRecord } from "./jsonRecords.js";

/**
 * A row group is decoded whole: Parquet compresses and encodes each column chunk as a unit, so
 * reading part of one costs as much as all of it, and its rows then live as JS objects (strings at up
 * to twice their UTF-8 size). Hugging Face's Parquet conversions write row groups of at most a few
 * hundred MB; one whose uncompressed size (from the file's metadata) is over 1 GiB is refused.
 * (The footer hyparquet reads first has a 32-bit length that it checks against the file's size.)
 */
export const MAX_ROW_GROUP_BYTES = 1024 * 1024 * 1024;

export interface ParquetRecords {
  /** The top-level column names, in schema order. */
  columns: string[];
  /** The rows, `path row N` with N counted from 0 (as `datasets` indexes them: `ds[N]`). */
  records(): AsyncGenerator<RawRecord>;
}

const oneLine = (s: string) => s.replace(/\s+/g, " ");

/** A hyparquet or file-system failure as one line naming the file. */
function parquetError(path: string, e: unknown): UsageError {
  if (e instanceof UsageError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new UsageError(`${path}: no such file`);
  if (typeof code === "string") return new UsageError(`${path}: cannot read (${code})`);
  return new UsageError(
    `${path}: cannot read as Parquet (${oneLine(e instanceof Error ? e.message : String(e))})`,
  );
}

/**
 * A value as JSON would have it. INT64 columns come back as BigInt: a safe integer becomes a number,
 * a larger one its decimal string (JSON.stringify refuses BigInt). Dates and timestamps become ISO
 * strings. Lists and structs are walked; other values (strings, numbers, bytes) are kept.
 */
export function jsonLike(value: unknown): unknown {
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(jsonLike);
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonLike(v);
    return out;
  }
  return value;
}

async function* rows(path: string, file: AsyncBuffer, metadata: FileMetaData): AsyncGenerator<RawRecord> {
  let rowStart = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(group.num_rows);
    if (group.total_byte_size > BigInt(MAX_ROW_GROUP_BYTES))
      throw new UsageError(
        `${path}: row group ${g} holds ${group.total_byte_size} bytes uncompressed, over ${MAX_ROW_GROUP_BYTES}; ` +
          `a row group is read whole, so rewrite the file with smaller ones (pyarrow's row_group_size)`,
      );
    let objects: Record<string, unknown>[];
    try {
      objects = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors });
    } catch (e) {
      throw parquetError(path, e);
    }
    for (const [i, row] of objects.entries())
      yield { where: `${path} row ${rowStart + i}`, record: jsonLike(row) as Record<string, unknown> };
    rowStart = rowEnd;
  }
}

/** Opens a Parquet file: its columns at once, its rows when asked. UsageError naming the file if it is not Parquet. */
export async function openParquet(path: string): Promise<ParquetRecords> {
  let file: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw parquetError(path, e);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  return { columns, records: () => rows(path, file, metadata) };
}
