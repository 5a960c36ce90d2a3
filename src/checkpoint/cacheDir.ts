import { homedir } from "node:os";
import { join } from "node:path";

/** deepen's cache root (token caches, merged LoRA folders): $DEEPEN_CACHE, else ~/.cache/deepen. */
export function defaultCacheDir(): string {
  return process.env.DEEPEN_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "deepen");
}
