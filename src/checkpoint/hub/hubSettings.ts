// Where the Hub is, who we are to it, and whether we may talk to it at all: read from the same
// environment variables and files as huggingface_hub (its constants.py), so a `huggingface-cli login`
// and the settings already exported for transformers work here too.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_ENDPOINT = "https://huggingface.co";
/** A token is ~40 characters; a token file of more than this is not one. */
const MAX_TOKEN_BYTES = 4096;

/** A leading `~` (alone or before a `/`) as the home folder, as huggingface_hub's expanduser does. */
export function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? join(homedir(), p.slice(1)) : p;
}

/** huggingface_hub's truth test for a switch: 1, true, yes or on, in any case. */
const isTrue = (v: string | undefined): boolean =>
  ["1", "true", "yes", "on"].includes((v ?? "").trim().toLowerCase());

/** huggingface_hub's HF_HOME: `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(): string {
  const env = process.env;
  return expandHome(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface"));
}

/** The hub cache folder: `$HF_HUB_CACHE`, else the legacy `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`. */
export function hubCacheDir(): string {
  const env = process.env;
  return expandHome(env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(), "hub"));
}

/** The Hub's base URL, without a trailing slash. */
export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, "");
}

/**
 * Offline as huggingface_hub decides it: HF_HUB_OFFLINE when it is set to anything, else
 * transformers' older TRANSFORMERS_OFFLINE (so HF_HUB_OFFLINE=0 overrides TRANSFORMERS_OFFLINE=1).
 */
export function isOffline(): boolean {
  return isTrue(process.env.HF_HUB_OFFLINE || process.env.TRANSFORMERS_OFFLINE);
}

/** The file `huggingface-cli login` writes the token to. */
export function tokenFile(): string {
  return expandHome(process.env.HF_TOKEN_PATH || join(hfHome(), "token"));
}

/**
 * HF_TOKEN (else the legacy HUGGING_FACE_HUB_TOKEN), else the token file's content; undefined when
 * none holds one, or when HF_HUB_DISABLE_IMPLICIT_TOKEN is set: as in huggingface_hub, where that
 * setting stops every token not passed explicitly, and deepen takes none explicitly.
 */
export function hubToken(): string | undefined {
  if (isTrue(process.env.HF_HUB_DISABLE_IMPLICIT_TOKEN)) return undefined;
  const env = (process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN)?.trim();
  if (env) return env;
  let text: string;
  try {
    const buf = readFileSync(tokenFile());
    text = buf.subarray(0, MAX_TOKEN_BYTES).toString("utf8");
  } catch {
    return undefined;
  }
  return text.trim() || undefined;
}
