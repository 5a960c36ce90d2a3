// The rows of a benchmark's CSV file (gzip too) as records, streamed through csv-parse: with a header
// row naming the fields (TruthfulQA.csv), or headerless with the field names given (MMLU's
// `<subject>_test.csv`: question,A,B,C,D,answer). A UTF-8 BOM is dropped, quoted fields may hold
// commas, quotes and newlines, blank lines are skipped. Each row is checked to have as many fields
// as there are names: a CSV read with the wrong names would otherwise score the wrong columns.

import { pipeline } from "node:stream";
import { CsvError, parse, type Info } from "csv-parse";
import { UsageError } from "../../errors.js";
import { openBytes, readError } from "../../data/corpus.js";
import type { RawRecord } from "../../data/instruct/jsonRecords.js";

/**
 * One row is held whole while it is parsed; a benchmark's row (a question with its answers) is a few
 * KB, a long-context one a few hundred. A quote left open would read the rest of the file into one
 * field: past this many characters the row is refused instead.
 */
export const MAX_CSV_ROW_CHARS = 16 * 1024 * 1024;

const oneLine = (s: string) => s.replace(/\s+/g, " ");

/**
 * The records of a CSV file, `path:LINE` with the line its row starts on (counted from 1). `columns`
 * names the fields of a headerless file; without it the first row is the header. UsageError naming
 * the file and line for a row of the wrong length, a header naming a field twice, or bad CSV.
 */
export async function* csvRecords(
  path: string,
  gzip: boolean,
  columns?: readonly string[],
): AsyncGenerator<RawRecord> {
  const parser = pipeline(
    openBytes(path, gzip),
    parse({
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: MAX_CSV_ROW_CHARS,
    }),
    () => {}, // errors reach the loop below through the parser
  );
  let names = columns;
  try {
    for await (const { record: fields, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      // csv-parse counts the line a row ends on; its quoted fields hold the line breaks in between.
      const line = info.lines - fields.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
      const where = `${path}:${line}`;
      if (names === undefined) {
        const twice = fields.find((f, i) => fields.indexOf(f) !== i);
        if (twice !== undefined)
          throw new UsageError(`${where}: the header names the field "${twice}" twice`);
        names = fields;
        continue;
      }
      if (fields.length !== names.length)
        throw new UsageError(
          `${where}: ${fields.length} fields where ${columns ? "the columns given are" : "the header has"} ${names.length} (${names.join(", ")})`,
        );
      // fromEntries defines own properties, so a field named "__proto__" stays a field.
      yield { where, record: Object.fromEntries(names.map((n, i) => [n, fields[i]])) };
    }
  } catch (e) {
    if (e instanceof CsvError) {
      const detail =
        e.code === "CSV_MAX_RECORD_SIZE"
          ? `a row over ${MAX_CSV_ROW_CHARS} characters (is a quote left open?)`
          : `not valid CSV (${oneLine(e.message)})`;
      throw new UsageError(`${path}:${(e as CsvError & { lines?: number }).lines ?? "?"}: ${detail}`);
    }
    throw readError(path, e);
  }
}
