// Preference (DPO) data: files and folders of JSON Lines, JSON arrays (gzip of either) and Parquet,
// streamed as prompt/chosen/rejected pairs. Read as instruction data is (shapedFile.ts): each file's
// shape told from its first record unless named, bad records named by file and line, element or row.

import { UsageError } from "../../errors.js";
import { PREFERENCE_SHAPES, type PreferenceFormat, type PreferencePair } from "./preferenceFormats.js";
import { listRecordFiles, readShapedFile, type ShapedReadOptions } from "./shapedFile.js";
import { sameMessages, toPreferencePair } from "./toPreferencePair.js";

export {
  detectPreferenceFormat,
  parsePreferenceFormat,
  PREFERENCE_FORMATS,
  type PreferenceFormat,
  type PreferencePair,
} from "./preferenceFormats.js";

export interface PreferenceReadOptions extends ShapedReadOptions<PreferenceFormat> {
  /**
   * Told of each pair whose chosen response is the same as its rejected one. Such a pair is passed
   * over, not an error: it carries no preference (DPO's loss for it is a constant log 2, its gradient
   * zero), and scraped sets hold a few where two samples happened to agree.
   */
  onIdentical?: (where: string) => void;
}

/**
 * The pairs of one file, in order, identical pairs passed over (and told to `onIdentical`).
 * UsageError (one line naming the file and the line, element or row) for a bad file, or for a bad
 * record unless `skipBad`.
 */
export function readPreferenceFile(
  path: string,
  opts: PreferenceReadOptions = {},
): AsyncGenerator<PreferencePair> {
  return readShapedFile(path, PREFERENCE_SHAPES, opts, (record, format, where) => {
    const pair = toPreferencePair(record, format, where);
    if (!sameMessages(pair.chosen, pair.rejected)) return pair;
    opts.onIdentical?.(where);
    return undefined;
  });
}

/**
 * Every pair of `paths`, in order: a file as itself, a folder as its files with one of `extensions`
 * (default INSTRUCTION_EXTENSIONS) sorted by path. UsageError when a path does not exist, when no file
 * is found, and as readPreferenceFile says; also, once the input is read, when it held pairs and every
 * one was identical (a wrong column mapping, say, not data to train on). An input of no pairs at all
 * (empty files, or every record skipped as bad) yields nothing and is the caller's to judge.
 */
export async function* readPreferencePairs(
  paths: readonly string[],
  opts: PreferenceReadOptions = {},
): AsyncGenerator<PreferencePair> {
  let identical = 0;
  let yielded = 0;
  const counting: PreferenceReadOptions = {
    ...opts,
    onIdentical: (where) => {
      identical++;
      opts.onIdentical?.(where);
    },
  };
  for (const file of await listRecordFiles(paths, opts, "preference data"))
    for await (const pair of readPreferenceFile(file.path, counting)) {
      yielded++;
      yield pair;
    }
  if (yielded === 0 && identical > 0)
    throw new UsageError(
      `${paths.join(", ")}: every pair (${identical}) has its chosen response identical to its rejected one, so nothing to learn from`,
    );
}
