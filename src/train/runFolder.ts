// A run folder on disk: checkpoint-NNNNNN/ folders, final/, metrics.jsonl. Deciding what an
// existing folder may become (replaced with --force, continued with --resume, refused) and where a
// resumed run picks up.
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OutputError, UsageError } from "../errors.js";
import type { StepRecord } from "./loop.js";
import { listCheckpoints, readTrainerState } from "./trainCheckpoint.js";

export const FINAL_DIR = "final";
export const METRICS_FILE = "metrics.jsonl";

/** The checkpoint to resume from: the named one, or the newest (by step) in `out`. */
export async function resumePoint(out: string, resume: boolean | string): Promise<string> {
  if (typeof resume === "string") {
    await readTrainerState(resume);
    return resume;
  }
  const candidates = [...listCheckpoints(out)];
  if (existsSync(join(out, FINAL_DIR, "trainer_state.json"))) candidates.push(join(out, FINAL_DIR));
  if (candidates.length === 0) throw new UsageError(`--resume: ${out} has no checkpoint to resume from`);
  let best = candidates[0]!;
  let bestStep = -1;
  for (const c of candidates) {
    const s = (await readTrainerState(c)).step;
    if (s > bestStep) [best, bestStep] = [c, s];
  }
  return best;
}

/**
 * Clears or refuses an existing run folder, then proves it writable. The caller has already
 * refused a folder deepen did not write (checkReplaceable), before any input was read.
 */
export async function prepareRunFolder(out: string, o: { resume?: boolean | string; force?: boolean }) {
  if (existsSync(out) && !o.resume) {
    const entries = readdirSync(out);
    if (entries.length > 0) {
      if (o.force) await rm(out, { recursive: true, force: true });
      else if (existsSync(join(out, FINAL_DIR))) {
        throw new OutputError(`${out} holds a finished run; --force replaces it, --resume continues it`);
      } else if (listCheckpoints(out).length > 0) {
        throw new OutputError(
          `${out} holds checkpoints of an unfinished run; --resume continues it, --force starts over`,
        );
      } else throw new OutputError(`output ${out} exists; pass --force to replace it`);
    }
  }
  try {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, ".deepen-write-test"), "");
    await rm(join(out, ".deepen-write-test"));
  } catch (e) {
    throw new OutputError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Drops the metrics lines logged after `step`: a run resumed from there will log those steps again. */
export async function trimMetrics(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const kept = (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.trim() && (JSON.parse(l) as StepRecord).step <= step);
  await writeFile(file, kept.map((l) => l + "\n").join(""));
}
