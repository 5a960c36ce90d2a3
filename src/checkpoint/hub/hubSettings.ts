// Where the Hub is, who we are to it, and whether we may talk to it at all: read from the same
// environment variables and files as huggingface_hub, so a `huggingface-cli login` works here too.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_ENDPOINT = "https://huggingface.co";
/** A token is ~40 characters; a token file of more than this is not one. */
const MAX_TOKEN_BYTES = 4096;

/** huggingface_hub's HF_HOME: `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(): string {
  const env = process.env;
  return env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface");
}

/** The Hub's base URL, without a trailing slash. */
export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, "");
}

/** HF_HUB_OFFLINE as huggingface_hub reads it: 1, true, yes or on, in any case. */
export function isOffline(): boolean {
  return ["1", "true", "yes", "on"].includes((process.env.HF_HUB_OFFLINE ?? "").trim().toLowerCase());
}

/** The file `huggingface-cli login` writes the token to. */
export function tokenFile(): string {
  return process.env.HF_TOKEN_PATH || join(hfHome(), "token");
}

/** HF_TOKEN, else the token file's content; undefined when neither holds one. */
export function hubToken(): string | undefined {
  const env = process.env.HF_TOKEN?.trim();
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
