// A benchmark's documents from its file in the layout it is published in, told from the name: JSON
// Lines (GSM8K, ARC, Winogrande), a JSON array or JSON Lines under .json (TruthfulQA's mc_task.json),
// CSV with a header (TruthfulQA.csv) or headerless with the columns named (MMLU), Parquet (Hugging
// Face's conversions), and gzip of the text layouts. Each document keeps where it came from, so that
// any later error about it names the file and the line, element or row.

import { UsageError } from "../../errors.js";
import {
  jsonArrayRecords,
  jsonLayout,
  jsonlRecords,
  type RawRecord,
} from "../../data/instruct/jsonRecords.js";
import { openParquet } from "../../data/instruct/parquetRecords.js";
import { csvRecords } from "./csvRecords.js";

export type Doc = Record<string, unknown>;

/**
 * Every document is held in memory, as a split is scored whole. lm-evaluation-harness's largest
 * benchmarks have some 100,000 documents; a file of more than this many records is not a benchmark
 * (a pretraining corpus given by mistake?) and is refused before it exhausts memory. `limit` reads
 * a prefix of a larger one.
 */
export const MAX_DOCS = 5_000_000;

type Layout = "jsonl" | "json" | "csv" | "parquet";

/** How a file is read, from its name. UsageError for a name of no known layout. */
function docsLayout(path: string): { layout: Layout; gzip: boolean } {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith(".gz");
  const inner = gzip ? lower.slice(0, -3) : lower;
  const layout = (["jsonl", "json", "csv", "parquet"] as const).find((l) => inner.endsWith(`.${l}`));
  if (layout === undefined)
    throw new UsageError(
      `${path}: not a benchmark file deepen reads (.jsonl, .json, .csv, .parquet, and .gz of the first three)`,
    );
  if (layout === "parquet" && gzip)
    throw new UsageError(`${path}: Parquet compresses its own pages; give the .parquet file, not gzip of it`);
  return { layout, gzip };
}

/** The records of a .json file: a JSON array, or JSON Lines as `datasets` writes under that name. */
async function* jsonRecords(path: string, gzip: boolean): AsyncGenerator<RawRecord> {
  const found = await jsonLayout(path, gzip);
  if (found === "array") return yield* jsonArrayRecords(path, gzip);
  if (found === "other")
    throw new UsageError(`${path}: neither a JSON array of records nor JSON Lines (one record per line)`);
  let first = true;
  for await (const raw of jsonlRecords(path, gzip)) {
    // A single object spread over lines ({"data": [...]}) starts like JSON Lines; say what is expected.
    if (first && "bad" in raw)
      throw new UsageError(
        `${raw.where}: ${raw.bad}; a .json file must be a JSON array of records or JSON Lines`,
      );
    first = false;
    yield raw;
  }
}

async function records(path: string, columns?: readonly string[]): Promise<AsyncGenerator<RawRecord>> {
  const { layout, gzip } = docsLayout(path);
  if (columns !== undefined && layout !== "csv")
    throw new UsageError(
      `${path}: columns name the fields of a headerless CSV file; a ${layout} file's records name their own`,
    );
  if (layout === "csv") return csvRecords(path, gzip, columns);
  if (layout === "parquet") return (await openParquet(path)).records();
  return layout === "jsonl" ? jsonlRecords(path, gzip) : jsonRecords(path, gzip);
}

function checkOptions(o: { columns?: string[]; limit?: number }): void {
  if (o.limit !== undefined && !(Number.isSafeInteger(o.limit) && o.limit >= 1))
    throw new UsageError(`limit must be a whole number of at least 1, not ${o.limit}`);
  if (o.columns !== undefined) {
    if (o.columns.length === 0) throw new UsageError("columns must name at least one field");
    const twice = o.columns.find((c, i) => o.columns!.indexOf(c) !== i);
    if (twice !== undefined) throw new UsageError(`columns name the field "${twice}" twice`);
  }
}

/**
 * The documents of a benchmark file, in file order, the first `limit` if given, and where each is:
 * `path:LINE` (JSON Lines, CSV), `path[INDEX]` (JSON array, from 0), `path row N` (Parquet, from 0).
 * `columns` names the fields of a headerless CSV file. UsageError (one line naming the file, and the
 * record where there is one) for an unknown name, an unreadable file, a record that is not valid
 * JSON, a JSON value that is not an object, a CSV row of the wrong length, or a file of no records.
 */
export async function readDocs(
  path: string,
  o: { columns?: string[]; limit?: number } = {},
): Promise<{ docs: Doc[]; where: (i: number) => string }> {
  checkOptions(o);
  const docs: Doc[] = [];
  const places: string[] = [];
  for await (const raw of await records(path, o.columns)) {
    if ("bad" in raw) throw new UsageError(`${raw.where}: ${raw.bad}`);
    if (docs.length === MAX_DOCS)
      throw new UsageError(
        `${path}: over ${MAX_DOCS} records; a benchmark is held in memory whole (read a prefix with a limit)`,
      );
    docs.push(raw.record);
    places.push(raw.where);
    if (docs.length === o.limit) break;
  }
  if (docs.length === 0) throw new UsageError(`${path}: no records (the file is empty)`);
  const where = (i: number) => {
    const place = places[i];
    if (place === undefined) throw new RangeError(`${path} has no record ${i} (it has ${places.length})`);
    return place;
  };
  return { docs, where };
}
