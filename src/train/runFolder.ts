// A run folder on disk: checkpoint-NNNNNN/ folders, final/, metrics.jsonl. Deciding what an
// existing folder may become (replaced with --force, continued with --resume, refused), clearing
// what an interrupted save left, and where a resumed run picks up.
import { existsSync, readdirSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OutputError, UsageError } from "../errors.js";
import { countOf } from "../formatCount.js";
import { LOCK_FILE, lockRunFolder, processAlive } from "./runLock.js";
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

// deepen's own temporary names. Partial: `.NAME.deepen-tmp-PID-HEX` (a save in progress: checkpoint,
// final, metrics rewrite, lock) and the write test. Aside: `.NAME.deepen-old-PID-HEX-N`, a complete
// folder moved aside while its replacement was renamed in.
const PARTIAL = /^\.(.+)\.deepen-tmp-(\d+)-[0-9a-f]+$|^\.deepen-write-test$/;
const ASIDE = /^\.(.+)\.deepen-old-\d+-[0-9a-f]+(-\d+)?$/;

/**
 * Takes the run folder's lock, clears or refuses an existing run folder, then proves it writable;
 * returns the lock's release. The caller has already refused a folder deepen did not write
 * (checkReplaceable), before any input was read.
 */
export async function prepareRunFolder(
  out: string,
  o: { resume?: boolean | string; force?: boolean; onNote?: (message: string) => void },
): Promise<() => Promise<void>> {
  const unlock = await lockRunFolder(out);
  try {
    // A partial save counts as nothing; a complete checkpoint moved aside (the run was killed while
    // replacing it) is kept for --resume unless --force starts over.
    const entries = readdirSync(out).filter((n) => n !== LOCK_FILE && !PARTIAL.test(n));
    if (!o.resume && entries.length > 0) {
      if (existsSync(join(out, FINAL_DIR)) && !o.force) {
        throw new OutputError(`${out} holds a finished run; --force replaces it, --resume continues it`);
      } else if (listCheckpoints(out).length > 0 && !o.force) {
        throw new OutputError(
          `${out} holds checkpoints of an unfinished run; --resume continues it, --force starts over`,
        );
      } else if (!o.force) throw new OutputError(`output ${out} exists; pass --force to replace it`);
      for (const n of entries) await rm(join(out, n), { recursive: true, force: true });
    }
    await removeLeftovers(out, o.onNote);
    try {
      await writeFile(join(out, ".deepen-write-test"), "");
      await rm(join(out, ".deepen-write-test"));
    } catch (e) {
      throw new OutputError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  } catch (e) {
    await unlock();
    throw e;
  }
  return unlock;
}

/**
 * Removes what a killed save left in the run folder (a checkpoint's temporary folder is as big as
 * the model). Only called with the run's lock held, so no other command is writing them; only
 * another command's attempt at the lock is spared while its process lives. A replaced checkpoint
 * moved aside whose replacement never landed goes back where it was.
 */
async function removeLeftovers(out: string, note?: (message: string) => void): Promise<void> {
  let removed = 0;
  for (const name of readdirSync(out)) {
    const aside = ASIDE.exec(name)?.[1];
    if (aside !== undefined && !existsSync(join(out, aside))) {
      await rename(join(out, name), join(out, aside));
      note?.(`restored ${join(out, aside)}: a save that was replacing it was interrupted`);
      continue;
    }
    const partial = PARTIAL.exec(name);
    if (!partial && aside === undefined) continue;
    const [, of, pid] = partial ?? [];
    if (`.${of}` === LOCK_FILE && Number(pid) !== process.pid && processAlive(Number(pid))) continue;
    await rm(join(out, name), { recursive: true, force: true });
    if (name !== ".deepen-write-test") removed++;
  }
  if (removed > 0) {
    const what = countOf(removed, "temporary folder or file", "temporary folders or files");
    note?.(`removed ${what} an interrupted save left in ${out}`);
  }
}
