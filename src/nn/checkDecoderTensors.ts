// The engine's load-time check of a checkpoint against its config.json: every tensor the
// architecture needs is there, with the shape the config's sizes give it, and the layers the tensors
// hold are the layers the config counts. Without it a missing tensor surfaces mid-run, a wrong
// vocab_size as an onnxruntime Gather error, a num_hidden_layers below the checkpoint's as a
// perplexity of fewer layers with exit status 0, and a fused projection split at the config's
// intermediate_size as silently wrong halves.

import { checkLayersPresent } from "../arch/layerLayout.js";
import { checkTensorSet } from "../arch/tensorSet.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";

export interface TensorShape {
  shape: readonly number[];
  /** The safetensors file holding it, for the message. */
  file: string;
}

/** Refuses tensors that do not fit `d` (the checkpoint in folder `dir`), naming the tensor and file. */
export function checkDecoderTensors(
  d: ResolvedDecoder,
  tensors: ReadonlyMap<string, TensorShape>,
  dir: string,
): void {
  const n = d.config.num_hidden_layers;
  checkLayersPresent(
    [...tensors].map(([name, t]) => ({ name, file: t.file })),
    n,
    d.family,
    dir,
  );
  checkTensorSet({ dir, config: d.config as unknown as Record<string, unknown>, tensors }, d.family, n);
}
