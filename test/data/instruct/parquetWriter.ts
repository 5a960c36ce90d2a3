// Parquet files written for the tests as pyarrow would write them (what Hugging Face serves), with
// hyparquet-writer: string columns and list<struct> columns of messages.

import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parquetWriteFile, type ColumnSource, type SchemaElement } from "hyparquet-writer";
import { writeText } from "./samples.js";

export const string = (name: string): SchemaElement => ({
  name,
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  repetition_type: "OPTIONAL",
});

/** A list<struct<a: string, b: string>> column as pyarrow writes a list of dicts (3-level LIST). */
export const listOfStruct = (name: string, a: string, b: string): SchemaElement[] => [
  { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
  string(a),
  string(b),
];

export function writeParquet(
  dir: string,
  name: string,
  columns: { data: unknown[]; schema: SchemaElement[] }[],
  names: string[],
  rowGroupSize?: number,
  gzip = false,
): string {
  const filename = join(dir, name);
  writeText(dir, name, ""); // makes the folder
  const columnData: ColumnSource[] = columns.map((c, i) => ({ name: names[i]!, data: c.data }));
  parquetWriteFile({
    filename,
    columnData,
    schema: [{ name: "root", num_children: columns.length }, ...columns.flatMap((c) => c.schema)],
    ...(rowGroupSize === undefined ? {} : { rowGroupSize }),
    ...(gzip ? { codec: "GZIP" as const, compressors: { GZIP: (b: Uint8Array) => gzipSync(b) } } : {}),
  });
  return filename;
}

export const column = (records: Record<string, unknown>[], name: string) =>
  records.map((r) => r[name] ?? null);
