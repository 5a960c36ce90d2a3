// Instruction-tuning data: files and folders of JSON Lines, JSON arrays (gzip of either) and Parquet,
// streamed as normalised examples. Each file's record shape is told from its first record's fields
// (a Parquet file's columns are checked first) unless the caller names one. The file handling is
// shapedFile.ts's, shared with the preference-pair reader.

import { detectFormat, REQUIRED_FIELDS, type InstructionExample, type InstructionFormat } from "./formats.js";
import {
  INSTRUCTION_EXTENSIONS,
  instructionFileLayout,
  listRecordFiles,
  readShapedFile,
  type ShapedReadOptions,
  type ShapeTable,
} from "./shapedFile.js";
import { toExample } from "./toExample.js";

export { INSTRUCTION_EXTENSIONS, instructionFileLayout };

export type InstructionReadOptions = ShapedReadOptions<InstructionFormat>;

/** Instruction shapes are told by field names alone. */
const INSTRUCTION_SHAPES: ShapeTable<InstructionFormat> = {
  shapes: REQUIRED_FIELDS,
  detect: (record) => detectFormat(Object.keys(record)),
};

/**
 * The examples of one file, in order. UsageError (one line naming the file and the line, element or
 * row) for a bad file, or for a bad record unless `skipBad`.
 */
export function readInstructionFile(
  path: string,
  opts: InstructionReadOptions = {},
): AsyncGenerator<InstructionExample> {
  return readShapedFile(path, INSTRUCTION_SHAPES, opts, toExample);
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
  for (const file of await listRecordFiles(paths, opts, "instruction data"))
    yield* readInstructionFile(file.path, opts);
}
