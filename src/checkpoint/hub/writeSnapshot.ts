// A snapshot appears only once all its blobs are complete, and whole: its links are built in a
// staging folder beside snapshots/ (at the same depth, so the relative targets stay right) and moved in.
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, rmdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { blobsDir, refFile, snapshotDir } from "./cacheLayout.js";
import type { BlobTarget } from "./downloadBlob.js";

/** snapshots/<commit>/<path> → ../../blobs/<etag> for every target (deeper paths get more ../). */
export async function writeSnapshot(
  repoDir: string,
  commit: string,
  targets: readonly BlobTarget[],
): Promise<string> {
  const final = snapshotDir(repoDir, commit);
  const staging = join(repoDir, ".staging", `${commit}-${randomBytes(4).toString("hex")}`);
  try {
    for (const t of targets) {
      const link = join(staging, t.path);
      await mkdir(dirname(link), { recursive: true });
      await symlink(relative(dirname(link), join(blobsDir(repoDir), t.etag)), link);
    }
    await mkdir(dirname(final), { recursive: true });
    try {
      await rename(staging, final);
      return final;
    } catch (e) {
      // The snapshot is there already: another tool began it (transformers fetches config.json
      // alone), or another download moved its own in first. Complete it link by link.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
    }
    for (const t of targets) {
      await mkdir(dirname(join(final, t.path)), { recursive: true });
      await rename(join(staging, t.path), join(final, t.path));
    }
    return final;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rmdir(join(repoDir, ".staging")).catch(() => {}); // still in use by another download
  }
}

/** refs/<revision> ← commit, replaced whole so a reader never sees half a hash. */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const file = refFile(repoDir, revision);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, commit);
  await rename(tmp, file);
}
