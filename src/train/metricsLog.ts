// metrics.jsonl: one line per step, appended as the run goes, cut back to a checkpoint's step on
// resume. A kill or a full disk can tear the last line; neither may leave the run unable to resume.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CheckpointError, OutputError } from "../errors.js";

/** The line-oriented error for a failed write to `file`, saying what is kept and how to go on. */
export function metricsWriteError(e: unknown, file: string, lastCheckpoint: string | undefined): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== "string") return e as Error;
  const what = code === "ENOSPC" || code === "EDQUOT" ? "no space left on the device" : code;
  const next = lastCheckpoint
    ? `${lastCheckpoint} is kept: free space, then --resume continues from it`
    : "no checkpoint was saved yet: free space, then run again with --force";
  return new OutputError(`cannot write ${file} (${what}); training stopped, ${next}`);
}

/** Appends one record, on disk before the next step. */
export function appendMetrics(file: string, record: object, lastCheckpoint: string | undefined): void {
  try {
    appendFileSync(file, JSON.stringify(record) + "\n");
  } catch (e) {
    throw metricsWriteError(e, file, lastCheckpoint);
  }
}

/** The step of a metrics line, or undefined if the line is not a record (torn, damaged). */
function stepOf(line: string): number | undefined {
  try {
    const r = JSON.parse(line) as unknown;
    if (typeof r !== "object" || r === null) return undefined;
    const step = (r as { step?: unknown }).step;
    return typeof step === "number" ? step : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Drops the metrics lines logged after `step`: a run resumed from there will log those steps again.
 * A last line that is not a record was torn by a kill or a full disk while appending: it was logged
 * after the checkpoint, so it goes too. A damaged line before it is named (CheckpointError).
 */
export async function trimMetrics(file: string, step: number, lastCheckpoint?: string): Promise<void> {
  if (!existsSync(file)) return;
  const lines = (await readFile(file, "utf8")).split("\n");
  while (lines.length > 0 && !lines.at(-1)!.trim()) lines.pop();
  const kept: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const s = stepOf(line);
    if (s === undefined && i < lines.length - 1)
      throw new CheckpointError(
        file,
        `line ${i + 1} is not a metrics record; remove it, then --resume again`,
      );
    if (s !== undefined && s <= step) kept.push(line);
  }
  // Written beside and renamed: a kill while rewriting never loses the lines kept.
  const tmp = join(
    dirname(file),
    `.${basename(file)}.deepen-tmp-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  try {
    await writeFile(tmp, kept.map((l) => l + "\n").join(""));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw metricsWriteError(e, file, lastCheckpoint);
  }
}
