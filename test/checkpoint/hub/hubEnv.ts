// Test environment for Hub code: a fresh HF_HOME, the fake Hub as endpoint, and none of the
// developer's own Hugging Face settings leaking in.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const HF_VARS = [
  "HF_HOME",
  "HF_HUB_CACHE",
  "HF_TOKEN",
  "HF_TOKEN_PATH",
  "HF_HUB_OFFLINE",
  "HF_ENDPOINT",
  "XDG_CACHE_HOME",
  "TRANSFORMERS_OFFLINE",
  "HUGGINGFACE_HUB_CACHE",
  "HUGGING_FACE_HUB_TOKEN",
  "HF_HUB_DISABLE_IMPLICIT_TOKEN",
];

let homes = 0;
/** Sets a fresh HF_HOME under `root` (and HF_ENDPOINT when given); returns the HF_HOME. */
export function freshHubEnv(root: string, endpoint?: string): string {
  for (const v of HF_VARS) delete process.env[v];
  const home = join(root, `hf-home-${homes++}`);
  mkdirSync(home, { recursive: true });
  process.env.HF_HOME = home;
  if (endpoint !== undefined) process.env.HF_ENDPOINT = endpoint;
  return home;
}

/** The child-process environment for the CLI with the same settings. */
export function hubChildEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  return { ...env, ...extra };
}
