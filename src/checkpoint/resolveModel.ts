// A model argument (folder, cache folder or Hub id, with a revision) to the folder that holds it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { CheckpointError, HubError } from "../errors.js";
import { CACHE_PREFIX, isRepoId, repoCacheDir, repoOfFolderName } from "./hub/cacheLayout.js";
import { type CachedSnapshot, findCachedSnapshot } from "./hub/cacheLookup.js";
import { downloadModel } from "./hub/downloadModel.js";
import type { ProgressListener } from "./hub/downloadProgress.js";
import { hubCacheDir, isOffline } from "./hub/hubSettings.js";
import { loraMergedFolder } from "./lora/loraCache.js";
import { type ModelPath, parseModelRef } from "./modelRef.js";
import { INDEX_FILE, MAX_INDEX_BYTES } from "./modelFolder.js";

export interface ResolvedModel {
  /** The folder holding config.json and the weights. */
  dir: string;
  /** "ORG/NAME" for a model from the Hugging Face cache, else the folder's name. */
  name: string;
  /** The revision asked for (a cache model: main when none was). */
  revision?: string;
  /** The commit of the snapshot, for a model from the cache. */
  commit?: string;
}

export interface ResolveOptions {
  onProgress?: ProgressListener;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The shards a snapshot's index names; undefined when the index cannot be read as one (the download repairs it). */
function indexedShards(indexFile: string): string[] | undefined {
  try {
    if (statSync(indexFile).size > MAX_INDEX_BYTES) return undefined;
    const map = (JSON.parse(readFileSync(indexFile, "utf8")) as { weight_map?: unknown }).weight_map;
    if (typeof map !== "object" || map === null) return undefined;
    const shards = [...new Set(Object.values(map))];
    return shards.every((s) => typeof s === "string") && shards.length > 0 ? (shards as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a cached snapshot holds a whole model rather than the part another tool fetched
 * (transformers' AutoConfig takes config.json alone; an interrupted download leaves some shards).
 * existsSync follows the links, so a link to a missing blob does not count.
 */
function holdsModel(dir: string): boolean {
  const has = (f: string) => existsSync(join(dir, f));
  if (has("adapter_config.json")) return has("adapter_model.safetensors");
  if (!has("config.json")) return false;
  if (has(INDEX_FILE)) return indexedShards(join(dir, INDEX_FILE))?.every(has) ?? false;
  return readdirSync(dir).some((f) => f.endsWith(".safetensors") && has(f));
}

const fromCache = (repo: string, snap: CachedSnapshot, revision: string | undefined): ResolvedModel => ({
  dir: snap.dir,
  name: repo,
  revision: revision ?? "main",
  commit: snap.commit,
});

/** A `models--ORG--NAME` folder named directly, at `revision` (refs/main, else its lone snapshot). */
function cacheFolder(input: string, folder: string, revision: string | undefined): ResolvedModel {
  const snap = findCachedSnapshot(folder, revision);
  if (!snap)
    throw new CheckpointError(input, `the cache folder has no snapshot for revision ${revision ?? "main"}`);
  return fromCache(repoOfFolderName(basename(folder)), snap, revision);
}

/** A Hub id: the cached snapshot when there is one (no request at all), else downloaded unless offline. */
async function hubModel(input: string, m: ModelPath, opts: ResolveOptions): Promise<ResolvedModel> {
  const repoDir = repoCacheDir(m.path);
  const cached = isDir(repoDir) ? findCachedSnapshot(repoDir, m.revision) : undefined;
  if (cached && (isOffline() || holdsModel(cached.dir))) return fromCache(m.path, cached, m.revision);
  if (isOffline())
    throw new HubError(
      m.path,
      "offline",
      `${m.revision ? `revision ${m.revision} ` : ""}not in the Hugging Face cache at ${hubCacheDir()}, and ` +
        "HF_HUB_OFFLINE is set (unset it, or drop --offline, to download it)",
    );
  const r = await downloadModel(m.path, { revision: m.revision, onProgress: opts.onProgress }).catch(
    (e: unknown) => {
      // A mistyped local path looks like an id too: say both places were looked in.
      if (e instanceof HubError && e.failure === "not-found")
        throw new HubError(m.path, "not-found", `no such folder, and ${e.message.slice(m.path.length + 2)}`);
      throw e;
    },
  );
  return { dir: r.dir, name: m.path, revision: r.revision, commit: r.commit };
}

/** One model path: a folder, a cache folder, or a Hub id. */
async function resolvePath(input: string, m: ModelPath, opts: ResolveOptions): Promise<ResolvedModel> {
  const p = resolve(m.path);
  if (isDir(p)) {
    if (basename(p).startsWith(CACHE_PREFIX) && isDir(join(p, "snapshots")))
      return cacheFolder(input, p, m.revision);
    if (m.revision !== undefined)
      throw new CheckpointError(
        input,
        `${m.path} is a folder; a revision (@${m.revision}) only applies to Hub models`,
      );
    return { dir: p, name: basename(p) };
  }
  if (existsSync(p)) throw new CheckpointError(input, "is a file; expected a model folder");
  if (/\.gguf$/i.test(m.path)) throw new CheckpointError(input, "no such file");
  if (isRepoId(m.path)) return hubModel(input, m, opts);
  throw new CheckpointError(input, "no such folder");
}

/**
 * Resolves a model reference (PATH[@REV][+ADAPTER[@REV]]) to a folder: a folder named by the whole
 * input first (a folder's name may hold @ or +), a `models--ORG--NAME` cache folder, or an
 * `ORG/NAME[@REV]` Hub id — taken from the cache without any request when it is there (`deepen
 * download` refreshes), otherwise downloaded unless HF_HUB_OFFLINE is set.
 */
export async function resolveModel(input: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const whole = resolve(input);
  if (isDir(whole) && !basename(whole).startsWith(CACHE_PREFIX)) return { dir: whole, name: basename(whole) };
  const ref = parseModelRef(input);
  if (!ref.adapter) return resolvePath(input, ref, opts);
  // mergekit's MODEL+ADAPTER: the adapter merged into the model once, into deepen's cache, and that
  // folder read from then on by whatever command named it.
  const base = await resolvePath(input, { path: ref.path, revision: ref.revision }, opts);
  const adapter = await resolvePath(input, ref.adapter, opts);
  const merged = await loraMergedFolder(base.dir, adapter.dir);
  return {
    dir: merged.dir,
    name: `${base.name}+${adapter.name}`,
    revision: base.revision,
    commit: base.commit,
  };
}
