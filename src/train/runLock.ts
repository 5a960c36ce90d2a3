// One training command per run folder at a time. Two runs writing the same folder would interleave
// their metrics and replace each other's checkpoints, and both exit 0. The lock is a file in the
// run folder holding the process id; one whose process is gone (a SIGKILLed run) is taken over.
import { randomBytes } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, mkdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OutputError } from "../errors.js";

export const LOCK_FILE = ".deepen-lock";

// Locks this process holds, removed on any exit (process.exit after Ctrl-C included).
const held = new Set<string>();
let exitHandlerInstalled = false;

/** Whether process `pid` exists (EPERM: it does, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process id a lock file names, or undefined for an unreadable or damaged one. */
async function holder(lock: string): Promise<number | undefined> {
  const text = await readFile(lock, "utf8").catch(() => "");
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Creates `lock` from `tmp` unless it exists (EEXIST then). */
async function create(tmp: string, lock: string): Promise<void> {
  try {
    await link(tmp, lock);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw e;
    // A filesystem without hard links: exclusive creation (a reader may briefly see it empty,
    // which counts as stale; the gap is one write).
    await writeFile(lock, `${process.pid}\n`, { flag: "wx" });
  }
}

/**
 * Takes the lock of run folder `out` (created if missing) and returns its release. OutputError if
 * another live process holds it, or another run in this process.
 */
export async function lockRunFolder(out: string): Promise<() => Promise<void>> {
  const lock = join(out, LOCK_FILE);
  if (held.has(lock)) throw new OutputError(`${out} is being written by another run in this process`);
  // Written whole under a temporary name, then linked: a lock file is never seen half-written.
  const tmp = join(out, `${LOCK_FILE}.deepen-tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(out, { recursive: true });
    await writeFile(tmp, `${process.pid}\n`);
    for (let attempt = 0; ; attempt++) {
      try {
        await create(tmp, lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const pid = await holder(lock);
        // Our own id in a lock we do not hold is a killed run's whose id this process reuses.
        if (pid !== undefined && pid !== process.pid && processAlive(pid)) {
          throw new OutputError(
            `${out} is being written by another deepen command (process ${pid}); wait for it to finish, or remove ${lock} if none is running`,
          );
        }
        // A stale lock is removed and taken once; two commands that both found it stale in the
        // same instant could both go on, a gap far narrower than the one the lock closes.
        if (attempt > 0)
          throw new OutputError(`cannot take the lock ${lock}: another command keeps taking it`);
        await unlink(lock).catch(() => {});
      }
    }
  } catch (e) {
    if (e instanceof OutputError) throw e;
    throw new OutputError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  } finally {
    // Never written if the folder could not be made: nothing to remove then.
    await rm(tmp, { force: true }).catch(() => {});
  }
  held.add(lock);
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.on("exit", () => {
      for (const l of held) releaseSync(l);
    });
  }
  return async () => {
    held.delete(lock);
    releaseSync(lock);
  };
}

/** Removes `lock` if it is still this process's (a lock taken over after a kill is not). */
function releaseSync(lock: string): void {
  try {
    if (Number(readFileSync(lock, "utf8").trim()) === process.pid) unlinkSync(lock);
  } catch {
    // Already gone: nothing to release.
  }
}
