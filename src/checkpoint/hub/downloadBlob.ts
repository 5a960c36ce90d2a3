// One file's content into blobs/<etag>: appended to <etag>.incomplete (resumed from its length
// with a Range request), checked against the size and hash the Hub listed, and only then renamed.
import { createReadStream } from "node:fs";
import { open, rename, rm, stat, truncate } from "node:fs/promises";
import type { Hash } from "node:crypto";
import { HubError } from "../../errors.js";
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

export const incompletePath = (blobFile: string): string => `${blobFile}.incomplete`;

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** Bytes already in `blobFile`'s .incomplete (to resume from), or the whole size when the blob is complete. */
export async function bytesPresent(blobFile: string, size: number): Promise<number> {
  if ((await sizeOf(blobFile)) === size) return size;
  return Math.min((await sizeOf(incompletePath(blobFile))) ?? 0, size);
}

/**
 * Fetches `t` into `blobFile` unless it is already there. `onBytes` hears each chunk written.
 * Network failures leave the .incomplete file for the next run; a wrong size or hash deletes it.
 */
export async function downloadBlob(
  repo: string,
  t: BlobTarget,
  blobFile: string,
  source: BlobSource,
  onBytes: (n: number) => void,
): Promise<void> {
  if ((await sizeOf(blobFile)) === t.size) return;
  const partial = incompletePath(blobFile);
  let have = (await sizeOf(partial)) ?? 0;
  if (have > t.size) {
    await truncate(partial, 0);
    have = 0;
  }
  let hash = contentHasher(t.lfs, t.size);
  if (have > 0) await hashFile(partial, hash);
  const fh = await open(partial, "a");
  let received = 0;
  try {
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
            onBytes(-have);
            have = 0;
          }
          first = false;
          await fh.write(chunk);
          hash.update(chunk);
          received += chunk.length;
          onBytes(chunk.length);
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOSPC") throw e;
        const why = e instanceof Error ? e.message : String(e);
        throw new HubError(
          repo,
          "network",
          `download of ${t.path} stopped after ${have + received} of ${t.size} bytes (${why}); ` +
            "run again to resume it",
        );
      }
    }
  } finally {
    await fh.close();
  }
  const got = have + received;
  if (got < t.size)
    throw new HubError(
      repo,
      "network",
      `download of ${t.path} ended after ${got} of ${t.size} bytes; run again to resume it`,
    );
  const digest = hash.digest("hex");
  if (got !== t.size || digest !== t.etag) {
    await rm(partial, { force: true });
    const what =
      got !== t.size
        ? `${got} bytes, expected ${t.size}`
        : `${t.lfs ? "sha256" : "git sha1"} ${digest}, expected ${t.etag}`;
    throw new HubError(
      repo,
      "integrity",
      `${t.path} arrived corrupt (${what}); the partial download was deleted, run again`,
    );
  }
  await rename(partial, blobFile);
}
