// The hashes the Hub names files by: sha256 of the content for LFS files, and for files kept in git
// itself, git's blob id (sha1 of "blob <size>\0" followed by the content).
import { createHash, type Hash } from "node:crypto";

export function contentHasher(lfs: boolean, size: number): Hash {
  if (lfs) return createHash("sha256");
  return createHash("sha1").update(`blob ${size}\0`);
}

/** The hash `contentHasher` gives for a whole buffer. */
export const contentHash = (lfs: boolean, bytes: Uint8Array): string =>
  contentHasher(lfs, bytes.length).update(bytes).digest("hex");
