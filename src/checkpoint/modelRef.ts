// A model reference as mergekit writes one: `PATH_OR_ID[@REVISION][+ADAPTER[@REVISION]]`.
// A local folder, a Hugging Face id (ORG/NAME) or a cache folder, optionally pinned to a branch,
// tag or commit, optionally with a PEFT LoRA adapter applied on top.
import { CheckpointError } from "../errors.js";

export interface ModelPath {
  /** A folder, a `models--ORG--NAME` cache folder or an ORG/NAME id. */
  path: string;
  /** A branch, tag or commit; only meaningful for Hub ids (main when absent). */
  revision?: string;
}

export interface ModelRef extends ModelPath {
  /** A PEFT LoRA adapter applied to the model's weights before anything reads them. */
  adapter?: ModelPath;
}

/** A revision is a git ref name or commit: no spaces, no `..`, nothing a path could escape with. */
const REVISION = /^[\w.\-/]+$/;

/** A revision names refs/<revision> in the cache: no empty, `.` or `..` part (no leading, trailing or double `/`). */
const validRevision = (revision: string): boolean =>
  REVISION.test(revision) &&
  !revision.includes("..") &&
  revision.split("/").every((p) => p !== "" && p !== ".");

function modelPath(text: string, whole: string): ModelPath {
  const at = text.lastIndexOf("@");
  if (at < 0) return { path: text };
  const path = text.slice(0, at);
  const revision = text.slice(at + 1);
  if (path === "" || !validRevision(revision))
    throw new CheckpointError(whole, "is not a model reference (PATH[@REVISION][+ADAPTER[@REVISION]])");
  return { path, revision };
}

/**
 * Splits a reference into model, revision and adapter. Pure: whether a part is a folder or a Hub id
 * is decided when it is resolved (a folder whose name holds `@` or `+` is taken whole there first).
 */
export function parseModelRef(text: string): ModelRef {
  if (text === "") throw new CheckpointError(text, "empty model reference");
  const plus = text.indexOf("+");
  if (plus < 0) return modelPath(text, text);
  const base = text.slice(0, plus);
  const adapter = text.slice(plus + 1);
  if (base === "" || adapter === "" || adapter.includes("+"))
    throw new CheckpointError(text, "is not a model reference (PATH[@REVISION][+ADAPTER[@REVISION]])");
  return { ...modelPath(base, text), adapter: modelPath(adapter, text) };
}

/** The string form parseModelRef reads back. */
export function formatModelRef(ref: ModelRef): string {
  const one = (p: ModelPath) => (p.revision ? `${p.path}@${p.revision}` : p.path);
  return ref.adapter ? `${one(ref)}+${one(ref.adapter)}` : one(ref);
}
