// A model's files at one revision into the Hugging Face cache: the revision resolved to a commit,
// the files deepen needs listed, each missing blob fetched and checked, and only then the snapshot
// linked and the ref moved, so a snapshot in the cache is always a complete one.
import { downloadFile, fileDownloadInfo, listFiles, modelInfo } from "@huggingface/hub";
import { mkdir, statfs } from "node:fs/promises";
import { join } from "node:path";
import { HubError } from "../../errors.js";
import { blobsDir, COMMIT, isRepoId, repoCacheDir } from "./cacheLayout.js";
import { type BlobTarget, blobComplete, downloadBlob, partialBytes } from "./downloadBlob.js";
import { downloadReporter, type ProgressListener } from "./downloadProgress.js";
import { type HubClient, hubClient } from "./hubClient.js";
import { hubFailure, megabytes } from "./hubErrors.js";
import { isOffline } from "./hubSettings.js";
import { fileSelector } from "./selectFiles.js";
import { writeRef, writeSnapshot } from "./writeSnapshot.js";

export interface DownloadOptions {
  /** Branch, tag or commit; main when absent. */
  revision?: string;
  /** Patterns of further files to fetch (fnmatch, as huggingface-cli's --include), beside the model files. */
  include?: readonly string[];
  /** Progress listener; the one set by setDownloadReporter when absent. */
  onProgress?: ProgressListener;
}

export interface DownloadResult {
  repo: string;
  revision: string;
  commit: string;
  /** The snapshot folder. */
  dir: string;
  /** Paths in the repo, as linked in the snapshot. */
  files: string[];
  /** Bytes fetched by this run. */
  fetched: number;
}

const SHA256 = /^[0-9a-f]{64}$/;
const GIT_SHA1 = /^[0-9a-f]{40}$/;

/** A revision that is the commit itself (or its prefix) moves no ref. */
const namesCommit = (revision: string, commit: string) =>
  /^[0-9a-f]{7,40}$/.test(revision) && commit.startsWith(revision);

function blobTarget(
  repo: string,
  entry: { path: string; size: number; oid?: string; lfs?: { oid: string; size: number } },
): BlobTarget {
  const parts = entry.path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..") || entry.path.includes("\\"))
    throw new HubError(
      repo,
      "protocol",
      `the Hub listed a file named ${JSON.stringify(entry.path)}, not a relative path`,
    );
  const lfs = entry.lfs !== undefined;
  const etag = (entry.lfs?.oid ?? entry.oid ?? "").toLowerCase();
  if (!(lfs ? SHA256 : GIT_SHA1).test(etag))
    throw new HubError(repo, "protocol", `the Hub listed ${entry.path} without a usable hash`);
  return { path: entry.path, etag, size: entry.lfs?.size ?? entry.size, lfs };
}

async function listTargets(repo: string, commit: string, client: HubClient, include?: readonly string[]) {
  const wanted = fileSelector(include);
  const targets: BlobTarget[] = [];
  for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...client }))
    if (entry.type === "file" && wanted(entry.path)) targets.push(blobTarget(repo, entry));
  if (targets.length === 0)
    throw new HubError(
      repo,
      "not-found",
      `has no files deepen reads at ${commit} (config.json, *.safetensors, tokenizer files); --include GLOB fetches others`,
    );
  return targets.sort((a, b) => a.path.localeCompare(b.path));
}

async function checkSpace(repo: string, dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir).catch(() => undefined);
  if (fs === undefined) return; // a filesystem that cannot say: the writes will tell
  const free = fs.bavail * fs.bsize;
  if (free < needed)
    throw new HubError(
      repo,
      "disk-full",
      `needs ${megabytes(needed)} more in ${dir}, but only ${megabytes(free)} is free`,
    );
}

/** Fetches what deepen needs of `repo` at `revision` (main) into the cache; always asks the Hub. */
export async function downloadModel(repo: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const revision = opts.revision ?? "main";
  if (!isRepoId(repo)) throw new HubError(repo, "not-found", "is not a Hub model id (ORG/NAME)");
  if (isOffline())
    throw new HubError(
      repo,
      "offline",
      `HF_HUB_OFFLINE is set, so it cannot be downloaded; unset it, or drop --offline`,
    );
  const client = hubClient();
  const onProgress = opts.onProgress ?? downloadReporter();
  const repoDir = repoCacheDir(repo);
  const blobs = blobsDir(repoDir);
  let current: BlobTarget | undefined;
  let done = 0;
  let total = 0;
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ["sha"], ...client });
    const commit = String(info.sha ?? "");
    if (!COMMIT.test(commit))
      throw new HubError(repo, "protocol", `the Hub gave no commit hash for revision ${revision}`);
    const targets = await listTargets(repo, commit, client, opts.include);
    await mkdir(blobs, { recursive: true });

    const unique = [...new Map(targets.map((t) => [t.etag, t])).values()];
    const complete = await Promise.all(unique.map((t) => blobComplete(join(blobs, t.etag), t.size)));
    const missing = unique.filter((_, i) => !complete[i]);
    total = missing.reduce((s, t) => s + t.size, 0);
    const partial = await Promise.all(missing.map((t) => partialBytes(join(blobs, t.etag), t.size)));
    await checkSpace(repo, blobs, total - partial.reduce((s, n) => s + n, 0));

    const start = Date.now();
    // Bytes counted in `done` that this run did not fetch (resumed partial files, blobs another
    // process finished), so that done - present is what came over the network.
    let present = 0;
    const report = (finished: boolean) => {
      const seconds = Math.max((Date.now() - start) / 1000, 1e-3);
      const rate = (done - present) / seconds;
      const etaSeconds = rate > 0 ? (total - done) / rate : undefined;
      onProgress?.({
        repo,
        file: finished ? undefined : current?.path,
        done,
        total,
        rate,
        etaSeconds,
        finished,
      });
    };
    for (const t of missing) {
      current = t;
      const source = {
        last: client.last,
        open: async () => {
          // The library puts the path into the URL as it is given: `#`, `?` or `%` in a name must be escaped.
          const path = t.path.split("/").map(encodeURIComponent).join("/");
          const downloadInfo = await fileDownloadInfo({ repo, path, revision: commit, ...client });
          const blob =
            downloadInfo &&
            (await downloadFile({
              repo,
              path,
              revision: commit,
              xet: false,
              downloadInfo,
              ...client,
            }));
          if (!blob)
            throw new HubError(repo, "not-found", `${t.path} is listed at ${commit} but cannot be fetched`);
          return blob;
        },
      };
      report(false);
      await downloadBlob(repo, t, join(blobs, t.etag), source, {
        present: (n) => {
          done += n;
          present += n;
          report(false);
        },
        fetched: (n) => {
          done += n;
          report(false);
        },
      });
    }
    current = undefined;
    const dir = await writeSnapshot(repoDir, commit, targets);
    if (!namesCommit(revision, commit)) await writeRef(repoDir, revision, commit);
    report(true);
    return { repo, revision, commit, dir, files: targets.map((t) => t.path), fetched: done - present };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOSPC")
      throw new HubError(
        repo,
        "disk-full",
        `no space left in ${blobs}: ${megabytes(total - done)} more needed` +
          (current ? `; ${current.path}'s partial blob is kept and the next run resumes it` : ""),
      );
    // The filesystem's own errors: a cache folder removed, unwritable or read-only, a failing disk.
    // (fetch wraps the network's system errors in a TypeError, so they never reach here as these.)
    const fsError = e as NodeJS.ErrnoException;
    if (typeof fsError.syscall === "string" && typeof fsError.code === "string")
      throw new HubError(repo, "cache", `cannot write the Hugging Face cache: ${fsError.message}`);
    throw hubFailure(repo, revision, client, e);
  }
}
