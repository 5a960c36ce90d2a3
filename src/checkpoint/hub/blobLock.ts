// One process at a time resumes, fetches and renames a blob: two appending to the same .incomplete
// each hash only their own bytes, both pass, and the blob ends up holding both. The lock is
// `blobs/<etag>.lock`, created exclusively and holding "PID HOST" so a crashed holder can be told
// from a live one.
import { hostname } from "node:os";
import { open, readFile, rm, stat } from "node:fs/promises";
import { HubError } from "../../errors.js";

/** How often a waiting download looks at the lock again. */
const POLL_MS = 100;
/** A holder whose partial file has not grown for this long is taken to be stuck: wait no longer. */
const STALL_MS = 5 * 60_000;
/** A lock without a readable "PID HOST" (its holder died between creating and writing it) is stale after this. */
const UNWRITTEN_MS = 10_000;
/** "PID HOST" is a few dozen bytes; a lock file of more than this is not one of ours. */
const MAX_LOCK_BYTES = 1024;

export const lockPath = (blobFile: string): string => `${blobFile}.lock`;

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

async function readHolder(lock: string): Promise<string | undefined> {
  try {
    return (await readFile(lock)).subarray(0, MAX_LOCK_BYTES).toString("utf8").trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined; // released meanwhile
    throw e;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

/** Whether the holder recorded in `lock` is gone: a dead process on this host, or a lock never written. */
async function isStale(lock: string, holder: string): Promise<boolean> {
  const m = /^(\d+) (.+)$/.exec(holder);
  if (m) return m[2] === hostname() && !isAlive(Number(m[1]));
  const age = await stat(lock).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  return age > UNWRITTEN_MS;
}

const sizeOf = (file: string) =>
  stat(file).then(
    (s) => s.size,
    () => -1,
  );

/**
 * Takes `blobFile`'s lock, waiting while another download holds it and its `partial` keeps growing;
 * returns the release. A stale lock (its process gone) is removed. Another host's lock on a shared
 * disk cannot be checked, so it is waited for like a live one, up to the stall limit.
 */
export async function lockBlob(
  repo: string,
  path: string,
  blobFile: string,
  partial: string,
): Promise<() => Promise<void>> {
  const lock = lockPath(blobFile);
  let seen = "";
  let since = Date.now();
  for (;;) {
    try {
      const fh = await open(lock, "wx");
      try {
        await fh.write(`${process.pid} ${hostname()}\n`);
      } finally {
        await fh.close();
      }
      return () => rm(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = await readHolder(lock);
    if (holder === undefined) continue;
    if (await isStale(lock, holder)) {
      // Re-read just before removing, so a lock taken anew meanwhile is left alone.
      if ((await readHolder(lock)) === holder) await rm(lock, { force: true });
      continue;
    }
    const state = `${holder} ${await sizeOf(partial)}`;
    if (state !== seen) {
      seen = state;
      since = Date.now();
    } else if (Date.now() - since > STALL_MS)
      throw new HubError(
        repo,
        "cache",
        `another download (process ${holder}) holds ${lock} and ${path} has not grown for ` +
          `${STALL_MS / 60_000} minutes; if no download is running, delete that file and run again`,
      );
    await sleep(POLL_MS);
  }
}
