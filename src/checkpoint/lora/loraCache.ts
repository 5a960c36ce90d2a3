// Merged folders for MODEL+ADAPTER references, kept under the cache root so a reference read twice
// is merged once (mergekit keeps a LoRA merge cache for the same reason). An entry is named by a hash
// of both folders' identity: their real paths and each file's size and modification time, so a
// changed model or adapter gets a new entry. Entries appear only by atomic rename: a folder there is
// complete, and of two concurrent builders the first to finish keeps it and the other uses it.
import { createHash } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError, OutputError } from "../../errors.js";
import { defaultCacheDir } from "../cacheDir.js";
import type { DType } from "../dtype.js";
import { CONFIG_FILE, INDEX_FILE, openModelFolder } from "../modelFolder.js";
import { resolveModel } from "../resolveModel.js";
import { writeLoraMerge } from "./mergeLora.js";
import { planLora } from "./planLora.js";
import { readAdapter } from "./readAdapter.js";

/** The cache's subfolder for merged LoRA folders. */
export const LORA_CACHE_SUBDIR = "lora";
/** Bumped when what an entry holds changes, so old entries are not taken for new ones. */
const CACHE_FORMAT = 1;
/** A model or adapter folder holds a few dozen files; thousands are not one (and would each be stat'ed). */
export const MAX_IDENTITY_FILES = 10_000;

export interface LoraCacheOptions {
  /** Output dtype of the float tensors (each tensor's own when undefined); part of the key. */
  dtype?: DType;
  /** The cache root (default $DEEPEN_CACHE or ~/.cache/deepen). */
  cacheDir?: string;
  /** No lines on stderr. */
  quiet?: boolean;
}

export interface LoraCacheEntry {
  /** The merged model folder. */
  dir: string;
  key: string;
  /** Whether this call built it (false: an entry already there was used). */
  built: boolean;
}

/** A folder's identity for the key: its real path and each top-level file's name, size and mtime. */
async function folderIdentity(dir: string): Promise<unknown> {
  const real = realpathSync(dir);
  const names = (await readdir(real)).filter((n) => !n.startsWith(".")).sort();
  if (names.length > MAX_IDENTITY_FILES)
    throw new CheckpointError(
      real,
      `${names.length} entries, over the ${MAX_IDENTITY_FILES}-entry limit for a model or adapter folder`,
    );
  const files: [string, number, number][] = [];
  for (const n of names) {
    const s = await stat(join(real, n)); // follows links: a Hub snapshot's files are links to blobs
    if (s.isFile()) files.push([n, s.size, s.mtimeMs]);
  }
  return { path: real, files };
}

/** The cache key of a model folder, an adapter folder and an output dtype. */
export async function loraCacheKey(modelDir: string, adapterDir: string, dtype?: DType): Promise<string> {
  const identity = {
    format: CACHE_FORMAT,
    model: await folderIdentity(modelDir),
    adapter: await folderIdentity(adapterDir),
    dtype: dtype ?? "auto",
  };
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 32);
}

const complete = (dir: string) => existsSync(join(dir, CONFIG_FILE)) && existsSync(join(dir, INDEX_FILE));

/** Progress lines on stderr while an entry is built: a line per 10 % once it has run a second. */
function stderrProgress(quiet: boolean) {
  let total = 0;
  let printed = 0;
  const start = Date.now();
  return {
    onStart: (bytes: number) => (total = bytes),
    onProgress: (done: number) => {
      const tenth = total > 0 ? Math.floor((done * 10) / total) : 0;
      if (quiet || tenth <= printed || Date.now() - start < 1000) return;
      printed = tenth;
      process.stderr.write(`deepen: merging LoRA adapter: ${tenth * 10}%\n`);
    },
  };
}

/**
 * The folder of `modelDir` with the LoRA adapter of `adapterDir` merged in: built into the cache on
 * first use, reused after. Both may be folders, models--ORG--NAME cache folders or cached ORG/NAME
 * ids. A mismatched adapter is refused before anything is written.
 */
export async function loraMergedFolder(
  modelDir: string,
  adapterDir: string,
  opts: LoraCacheOptions = {},
): Promise<LoraCacheEntry> {
  // The key needs only the folders; their headers are read when there is something to build.
  const [modelAt, adapterAt] = [(await resolveModel(modelDir)).dir, (await resolveModel(adapterDir)).dir];
  const key = await loraCacheKey(modelAt, adapterAt, opts.dtype);
  const dir = join(opts.cacheDir ?? defaultCacheDir(), LORA_CACHE_SUBDIR, key);
  if (complete(dir)) return { dir, key, built: false };
  const model = await openModelFolder(modelAt);
  const adapter = await readAdapter(adapterAt);
  const plan = planLora(model, adapter);
  const quiet = !!opts.quiet;
  if (!quiet)
    process.stderr.write(
      `deepen: merging LoRA adapter ${adapter.name} into ${model.name} (once; cached in ${dir})\n`,
    );
  const started = Date.now();
  try {
    await writeLoraMerge(plan, dir, { dtype: opts.dtype, ...stderrProgress(quiet) });
  } catch (e) {
    // Another builder finished first: its entry is the same merge.
    if (e instanceof OutputError && complete(dir)) return { dir, key, built: false };
    throw e;
  }
  if (!quiet) process.stderr.write(`deepen: merged in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return { dir, key, built: true };
}
