// The per-example scores of a contamination check as JSON Lines, for whoever wants to look further
// (plot them, join them to the data by `where`). Written beside the target and renamed, so a failed
// run never leaves half a file, and an existing file is replaced only when asked.

import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { link, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writtenMeanwhile } from "../../checkpoint/atomicOutput.js";
import { OutputError } from "../../errors.js";
import { snakeCaseKeys } from "../../report/snakeCaseKeys.js";

/** OutputError unless `file` may be written: a folder never, an existing file only with `force`. */
export function checkScoresFile(file: string, force: boolean): void {
  if (!existsSync(file)) return;
  if (statSync(file).isDirectory()) throw new OutputError(`--out ${file} is a folder; name a .jsonl file`);
  if (!force) throw new OutputError(`output ${file} exists; pass --force to replace it`);
}

/**
 * One JSON object a line, keys in snake_case. Without `force` an existing file is never replaced,
 * even one another command wrote since the start: link(2) fails where rename(2) would replace.
 */
export async function writeScores(file: string, rows: readonly object[], force = false): Promise<void> {
  const tmp = join(
    dirname(file),
    `.${basename(file)}.deepen-tmp-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  try {
    await writeFile(tmp, rows.map((r) => JSON.stringify(snakeCaseKeys(r)) + "\n").join(""));
    if (force) {
      checkScoresFile(file, force);
      await rename(tmp, file);
    } else await placeNew(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    if (e instanceof OutputError) throw e;
    throw new OutputError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Moves `tmp` to `file` unless something is there. */
async function placeNew(tmp: string, file: string): Promise<void> {
  try {
    await link(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw writtenMeanwhile(file);
    // A filesystem without hard links: look, then rename (a race in the gap goes unseen there).
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw e;
    if (existsSync(file)) throw writtenMeanwhile(file);
    await rename(tmp, file);
    return;
  }
  await rm(tmp, { force: true });
}
