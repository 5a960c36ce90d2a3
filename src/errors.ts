// One error class per kind of failure. Every message names the file, tensor or option at fault, so
// the CLI can print it on one line and a user knows what to fix without a stack trace.

export class DeepenError extends Error {
  override readonly name: string = "DeepenError";
}

/** A file on disk is not what its format says it must be (safetensors, index, config.json). */
export class CheckpointError extends DeepenError {
  override readonly name = "CheckpointError";
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** The model's config names an architecture deepen has no table row for. */
export class ArchitectureError extends DeepenError {
  override readonly name = "ArchitectureError";
}

/** A command-line option or recipe value is out of range or inconsistent. */
export class UsageError extends DeepenError {
  override readonly name = "UsageError";
}

/** A mergekit-style YAML recipe is malformed or refers to something that does not exist. */
export class RecipeError extends DeepenError {
  override readonly name = "RecipeError";
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** The output cannot be written where asked (exists, inside the input, disk full, unwritable). */
export class OutputError extends DeepenError {
  override readonly name = "OutputError";
}

/**
 * An output tensor would hold Inf or NaN: a merge or scale that leaves the dtype's range, or an input
 * that already holds such values. Named down to the element; nothing is written.
 */
export class NonFiniteError extends DeepenError {
  override readonly name = "NonFiniteError";
  constructor(
    readonly tensor: string,
    readonly element: number,
    readonly value: number,
    dtype: string,
    why: string,
  ) {
    super(
      `tensor ${tensor} would hold ${value} at element ${element} (${dtype}): ${why}; nothing written ` +
        "(--allow-nonfinite writes it anyway)",
    );
  }
}

/** A graph was built wrong (shapes, dtypes, an op without a gradient rule): a bug in model code, named precisely. */
export class GraphError extends DeepenError {
  override readonly name = "GraphError";
}

/** A model llama.cpp would run differently from transformers (or cannot hold): no GGUF is written. */
export class GgufExportError extends DeepenError {
  override readonly name = "GgufExportError";
}

/** The seam cannot be measured on this model (the engine cannot run it); surgery still can cut it. */
export class SeamError extends DeepenError {
  override readonly name = "SeamError";
}

/** What went wrong between deepen and the Hugging Face Hub, so callers (and tests) can tell failures apart. */
export type HubFailure =
  | "not-found"
  | "revision-not-found"
  | "access"
  | "network"
  | "disk-full"
  | "offline"
  | "integrity"
  | "protocol"
  /** The cache folder itself: unwritable, removed underneath, or locked by a stuck download. */
  | "cache";

/** A model could not be fetched from (or found without) the Hugging Face Hub; the message names the repo. */
export class HubError extends DeepenError {
  override readonly name = "HubError";
  constructor(
    readonly repo: string,
    readonly failure: HubFailure,
    detail: string,
  ) {
    super(`${repo}: ${detail}`);
  }
}
