import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { CheckpointError } from "../errors.js";

export interface ResolvedModelPath {
  /** The folder holding config.json and the weights. */
  dir: string;
  /** "org/name" when the model came from the Hugging Face cache, else the folder's name. */
  name: string;
}

const CACHE_PREFIX = "models--";

/** The Hugging Face hub cache folder, honouring the same environment variables as huggingface_hub. */
export function hubCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home =
    process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** In a `models--ORG--NAME` cache folder, the snapshot that refs/main points at. */
function cacheSnapshot(repoDir: string): string {
  const refFile = join(repoDir, "refs", "main");
  const snapshots = join(repoDir, "snapshots");
  if (existsSync(refFile)) {
    const ref = readFileSync(refFile, "utf8").trim();
    const snap = join(snapshots, ref);
    if (!isDir(snap))
      throw new CheckpointError(refFile, `points at snapshot ${ref}, which is not in ${snapshots}`);
    return snap;
  }
  const all = isDir(snapshots) ? readdirSync(snapshots).filter((s) => isDir(join(snapshots, s))) : [];
  if (all.length === 1) return join(snapshots, all[0]!);
  throw new CheckpointError(
    repoDir,
    `Hugging Face cache folder without refs/main and with ${all.length} snapshots`,
  );
}

function cacheDisplayName(repoDir: string): string {
  return basename(repoDir).slice(CACHE_PREFIX.length).replace("--", "/");
}

/**
 * Accepts a model folder, a `models--ORG--NAME` cache folder, or an `ORG/NAME` id already in the
 * local Hugging Face cache. Nothing is downloaded.
 */
export function resolveModelPath(input: string): ResolvedModelPath {
  const p = resolve(input);
  if (isDir(p)) {
    if (basename(p).startsWith(CACHE_PREFIX) && isDir(join(p, "snapshots"))) {
      return { dir: cacheSnapshot(p), name: cacheDisplayName(p) };
    }
    return { dir: p, name: basename(p) };
  }
  if (existsSync(p)) throw new CheckpointError(input, "is a file; expected a model folder");
  if (/^[\w.-]+\/[\w.-]+$/.test(input)) {
    const repoDir = join(hubCacheDir(), CACHE_PREFIX + input.replace("/", "--"));
    if (isDir(repoDir)) return { dir: cacheSnapshot(repoDir), name: input };
    throw new CheckpointError(input, `no such folder, and not in the Hugging Face cache at ${hubCacheDir()}`);
  }
  throw new CheckpointError(input, "no such folder");
}
