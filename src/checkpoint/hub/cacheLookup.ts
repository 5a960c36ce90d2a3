// Finding a revision's snapshot in the cache without the network.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError } from "../../errors.js";
import { COMMIT, refFile, snapshotDir } from "./cacheLayout.js";

/** A ref file holds one commit hash and a newline; more than this is not a ref. */
const MAX_REF_BYTES = 1024;
/** Git's shortest unambiguous abbreviation by default: shorter prefixes are too often ambiguous. */
export const MIN_COMMIT_PREFIX = 7;

export interface CachedSnapshot {
  dir: string;
  commit: string;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readRef(file: string): string {
  const ref = readFileSync(file).subarray(0, MAX_REF_BYTES).toString("utf8").trim();
  if (!COMMIT.test(ref)) throw new CheckpointError(file, "is not a commit hash (a corrupt cache ref)");
  return ref;
}

const snapshots = (repoDir: string): string[] => {
  const dir = join(repoDir, "snapshots");
  return isDir(dir) ? readdirSync(dir).filter((s) => isDir(join(dir, s))) : [];
};

/**
 * The snapshot a revision names in a `models--ORG--NAME` folder: refs/REV (main when absent), else a
 * snapshot whose commit is REV or starts with it (7+ hex digits, unique). Undefined when the cache
 * does not hold it. Without a revision and without refs/main, a lone snapshot is taken (a cache
 * folder copied by hand often loses refs/).
 */
export function findCachedSnapshot(repoDir: string, revision?: string): CachedSnapshot | undefined {
  const ref = refFile(repoDir, revision ?? "main");
  if (existsSync(ref)) {
    const commit = readRef(ref);
    const dir = snapshotDir(repoDir, commit);
    if (!isDir(dir))
      throw new CheckpointError(ref, `points at snapshot ${commit}, which is not in the cache`);
    return { dir, commit };
  }
  const all = snapshots(repoDir);
  if (revision === undefined) {
    return all.length === 1 ? { dir: snapshotDir(repoDir, all[0]!), commit: all[0]! } : undefined;
  }
  if (!/^[0-9a-f]+$/.test(revision) || revision.length < MIN_COMMIT_PREFIX) return undefined;
  const matches = all.filter((s) => s.startsWith(revision));
  if (matches.length > 1)
    throw new CheckpointError(
      join(repoDir, "snapshots"),
      `commit prefix ${revision} is ambiguous (${matches.join(", ")})`,
    );
  return matches.length === 1 ? { dir: snapshotDir(repoDir, matches[0]!), commit: matches[0]! } : undefined;
}
