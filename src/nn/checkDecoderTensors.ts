// The engine's load-time check of a checkpoint against its config.json: every tensor the
// architecture needs is there, with the shape the config's sizes give it, and the layers the tensors
// hold are the layers the config counts. Without it a missing tensor surfaces mid-run, a wrong
// vocab_size as an onnxruntime Gather error, a num_hidden_layers below the checkpoint's as a
// perplexity of fewer layers with exit status 0, and a fused projection split at the config's
// intermediate_size as silently wrong halves.

import { checkLayersPresent } from "../arch/layerLayout.js";
import { expectedTensors, missingTensorError } from "../arch/tensorSet.js";
import { CheckpointError } from "../errors.js";
import type { ResolvedDecoder } from "./decoderConfig.js";

export interface TensorShape {
  shape: readonly number[];
  /** The safetensors file holding it, for the message. */
  file: string;
}

const fmt = (shape: readonly number[]) => `[${shape.join(", ")}]`;
const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Refuses tensors that do not fit `d` (the checkpoint in folder `dir`), naming the tensor and file. */
export function checkDecoderTensors(
  d: ResolvedDecoder,
  tensors: ReadonlyMap<string, TensorShape>,
  dir: string,
): void {
  const c = d.config;
  checkLayersPresent(
    [...tensors].map(([name, t]) => ({ name, file: t.file })),
    c.num_hidden_layers,
    d.family,
    dir,
  );
  const dims = {
    hidden: c.hidden_size,
    intermediate: c.intermediate_size,
    heads: d.heads,
    kvHeads: d.kvHeads,
    headDim: d.headDim,
    vocab: c.vocab_size,
  };
  const raw = c as unknown as Record<string, unknown>;
  const expected = expectedTensors(d.family, raw, d.source, c.num_hidden_layers, dims);
  // A tied head that a checkpoint carries anyway is what the engine reads: it must fit too.
  const head = d.family.decoderTensors.head;
  if (tensors.has(head) && !expected.some(([name]) => name === head))
    expected.push([head, [dims.vocab, dims.hidden]]);
  const missing = expected.filter(([name]) => !tensors.has(name)).map(([name]) => name);
  if (missing.length > 0) throw missingTensorError(dir, d.family, missing);
  for (const [name, shape] of expected) {
    const t = tensors.get(name)!;
    if (!same(t.shape, shape))
      throw new CheckpointError(
        t.file,
        `tensor ${name} is ${fmt(t.shape)}, but config.json's sizes make it ${fmt(shape)}`,
      );
  }
  // A bias the linear layer adds where the checkpoint has one: one value per output row.
  for (const [name, t] of tensors) {
    if (!name.endsWith(".bias")) continue;
    const weight = tensors.get(`${name.slice(0, -".bias".length)}.weight`);
    if (weight && weight.shape.length === 2 && !same(t.shape, [weight.shape[0]!]))
      throw new CheckpointError(
        t.file,
        `tensor ${name} is ${fmt(t.shape)}, but its weight makes it ${fmt([weight.shape[0]!])}`,
      );
  }
}
