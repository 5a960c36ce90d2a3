// The sizes config.json gives a model's tensors, read as transformers reads them: hidden_size,
// intermediate_size, num_attention_heads and vocab_size must be there; num_key_value_heads defaults
// to the head count (multi-head attention, as older Llama configs leave it out) and head_dim to
// hidden_size ÷ heads. Surgery, merging and the engine all compare the tensors against these, so a
// config that no longer describes its weights is refused before anything is written or run.

import { previewJson } from "../checkpoint/previewJson.js";
import { CheckpointError } from "../errors.js";
import type { Dims } from "./families.js";

export type ConfigDims = Omit<Dims, "experts">;

/** A count or size read from a file: a safe positive integer (1e308 is an integer to JavaScript, and no size). */
export const isPositiveInt = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/** The tensor sizes `config` (config.json at `configFile`) describes; a size it cannot give is refused, naming the key. */
export function configDims(config: Record<string, unknown>, configFile: string): ConfigDims {
  const int = (key: string): number => {
    const v = config[key];
    if (!isPositiveInt(v))
      throw new CheckpointError(configFile, `${key} must be a positive integer, got ${previewJson(v)}`);
    return v;
  };
  const optionalInt = (key: string): number | undefined => (config[key] === undefined ? undefined : int(key));
  const hidden = int("hidden_size");
  const intermediate = int("intermediate_size");
  const heads = int("num_attention_heads");
  const vocab = int("vocab_size");
  const kvHeads = optionalInt("num_key_value_heads") ?? heads;
  let headDim = optionalInt("head_dim");
  if (headDim === undefined) {
    if (hidden % heads !== 0)
      throw new CheckpointError(
        configFile,
        `hidden_size ${hidden} does not split into ${heads} heads, and there is no head_dim`,
      );
    headDim = hidden / heads;
  }
  return { hidden, intermediate, heads, kvHeads, headDim, vocab };
}
