// One file's content into blobs/<etag>: appended to <etag>.incomplete (resumed from its length
// with a Range request), checked against the size and hash the Hub listed, and only then renamed.
// All of it under the blob's lock (blobLock.ts), so concurrent downloads never share a partial file.
import { createReadStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import type { Hash } from "node:crypto";
import { HubError } from "../../errors.js";
import { lockBlob } from "./blobLock.js";
import { contentHasher } from "./contentHash.js";
import type { LastResponse } from "./hubClient.js";

export interface BlobTarget {
  /** The file's path in the repo. */
  path: string;
  /** sha256 (LFS) or git blob sha1 (regular file), lowercase hex: the blob's name and its check. */
  etag: string;
  size: number;
  lfs: boolean;
}

export interface BlobSource {
  /** The file's content as the Hub serves it (a WebBlob: `slice(n)` is a Range request from n). */
  open(): Promise<Blob>;
  /** The response behind the latest request, to tell a honoured Range (206) from an ignored one (200). */
  last: LastResponse;
}

/** What a blob's download tells its caller, in bytes. */
export interface BlobProgress {
  /** Bytes found already there (a partial file resumed, or a blob another process finished); negative when dropped. */
  present(n: number): void;
  /** Bytes received and written. */
  fetched(n: number): void;
}

export const incompletePath = (blobFile: string): string => `${blobFile}.incomplete`;

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

/** Whether `blobFile` is a finished blob: only a renamed blob counts, never a partial one. */
export const blobComplete = async (blobFile: string, size: number): Promise<boolean> =>
  (await sizeOf(blobFile)) === size;

/** Bytes a partial download of `blobFile` holds (at most `size`), for estimates only: downloadBlob decides. */
export const partialBytes = async (blobFile: string, size: number): Promise<number> =>
  Math.min((await sizeOf(incompletePath(blobFile))) ?? 0, size);

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** An HTTP error answered for the body itself (an expired CDN link, access withdrawn, the file gone). */
function bodyRefused(repo: string, t: BlobTarget, status: number): HubError {
  const resume = "run again to resume it";
  if (status === 401 || status === 403)
    return new HubError(
      repo,
      "access",
      `the download of ${t.path} was refused midway (HTTP ${status}: an expired link, or access withdrawn); ${resume}`,
    );
  if (status === 404 || status === 410)
    return new HubError(repo, "not-found", `${t.path} is no longer on the Hub (HTTP ${status})`);
  return new HubError(repo, "protocol", `the Hub answered HTTP ${status} for ${t.path}'s content; ${resume}`);
}

/**
 * Fetches `t` into `blobFile` unless it is already there. Network failures leave the .incomplete
 * file for the next run; a wrong size or hash deletes it.
 */
export async function downloadBlob(
  repo: string,
  t: BlobTarget,
  blobFile: string,
  source: BlobSource,
  progress: BlobProgress,
): Promise<void> {
  const partial = incompletePath(blobFile);
  const release = await lockBlob(repo, t.path, blobFile, partial);
  try {
    // Another process may have finished it while this one waited for the lock.
    if (await blobComplete(blobFile, t.size)) progress.present(t.size);
    else await fetchBlob(repo, t, blobFile, partial, source, progress);
  } finally {
    await release();
  }
}

async function fetchBlob(
  repo: string,
  t: BlobTarget,
  blobFile: string,
  partial: string,
  source: BlobSource,
  progress: BlobProgress,
): Promise<void> {
  const fh = await open(partial, "a");
  let size: number;
  let digest: string;
  try {
    let have = (await fh.stat()).size;
    // More than the file holds: not a prefix of it, so nothing in it can be kept.
    if (have > t.size) {
      await fh.truncate(0);
      have = 0;
    }
    let hash = contentHasher(t.lfs, t.size);
    if (have > 0) await hashFile(partial, hash);
    progress.present(have);
    if (have < t.size) {
      const whole = await source.open();
      const body = (have > 0 ? whole.slice(have) : whole).stream();
      let first = true;
      try {
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          if (first && have > 0 && source.last.status === 200) {
            // The server sent the whole file instead of the range asked for: start over.
            await fh.truncate(0);
            hash = contentHasher(t.lfs, t.size);
            progress.present(-have);
            have = 0;
          }
          first = false;
          await fh.write(chunk);
          hash.update(chunk);
          progress.fetched(chunk.length);
        }
      } catch (e) {
        // The disk's failures (ENOSPC, EIO) are the caller's to name; only the network's are named here.
        if (typeof (e as NodeJS.ErrnoException).syscall === "string") throw e;
        // The library ends the stream with the message alone; the status is in the last response.
        if (source.last.status >= 400) throw bodyRefused(repo, t, source.last.status);
        const why = e instanceof Error ? e.message : String(e);
        const got = (await fh.stat()).size;
        throw new HubError(
          repo,
          "network",
          `download of ${t.path} stopped after ${got} of ${t.size} bytes (${why}); run again to resume it`,
        );
      }
    }
    // The file's own size, not a count of what this process wrote: what gets renamed is the file.
    size = (await fh.stat()).size;
    digest = hash.digest("hex");
  } finally {
    await fh.close();
  }
  if (size < t.size)
    throw new HubError(
      repo,
      "network",
      `download of ${t.path} ended after ${size} of ${t.size} bytes; run again to resume it`,
    );
  if (size !== t.size || digest !== t.etag) {
    await rm(partial, { force: true });
    const what =
      size !== t.size
        ? `${size} bytes, expected ${t.size}`
        : `${t.lfs ? "sha256" : "git sha1"} ${digest}, expected ${t.etag}`;
    throw new HubError(
      repo,
      "integrity",
      `${t.path} arrived corrupt (${what}); the partial download was deleted, run again`,
    );
  }
  await rename(partial, blobFile);
}
