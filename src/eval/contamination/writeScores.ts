// The per-example scores of a contamination check as JSON Lines, for whoever wants to look further
// (plot them, join them to the data by `where`). Written beside the target and renamed, so a failed
// run never leaves half a file, and an existing file is replaced only when asked.

import { existsSync, statSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OutputError } from "../../errors.js";
import { snakeCaseKeys } from "../../report/snakeCaseKeys.js";

/** OutputError unless `file` may be written: a folder never, an existing file only with `force`. */
export function checkScoresFile(file: string, force: boolean): void {
  if (!existsSync(file)) return;
  if (statSync(file).isDirectory()) throw new OutputError(`--out ${file} is a folder; name a .jsonl file`);
  if (!force) throw new OutputError(`output ${file} exists; pass --force to replace it`);
}

/** One JSON object a line, keys in snake_case. */
export async function writeScores(file: string, rows: readonly object[]): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.deepen-tmp-${process.pid}`);
  try {
    await writeFile(tmp, rows.map((r) => JSON.stringify(snakeCaseKeys(r)) + "\n").join(""));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new OutputError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
