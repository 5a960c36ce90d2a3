// What a whole model of a table family holds, from its dimensions: every tensor's name and shape,
// and the config.json fields that describe them. Shared by everything that writes a model from
// nothing (a fresh initialisation, the synthetic test and benchmark checkpoints).

import type { ArchFamily, Dims } from "./families.js";

/** Name and shape of every tensor, in the order Hugging Face checkpoints list them. */
export function modelTensorShapes(
  family: ArchFamily,
  layers: number,
  d: Dims,
  tied: boolean,
): [name: string, shape: number[]][] {
  const shapes: [string, number[]][] = [["model.embed_tokens.weight", [d.vocab, d.hidden]]];
  for (let i = 0; i < layers; i++)
    for (const [rel, shape] of family.layerTensors(d))
      shapes.push([`${family.layerPrefix}${i}.${rel}`, shape]);
  shapes.push(["model.norm.weight", [d.hidden]]);
  if (!tied) shapes.push(["lm_head.weight", [d.vocab, d.hidden]]);
  return shapes;
}

/** The config.json fields that follow from the family and the dimensions. */
export function structuralConfig(
  family: ArchFamily,
  layers: number,
  d: Dims,
  tied: boolean,
): Record<string, unknown> {
  return {
    architectures: [family.architectures[0]],
    model_type: family.modelType,
    hidden_size: d.hidden,
    intermediate_size: d.intermediate,
    num_attention_heads: d.heads,
    num_key_value_heads: d.kvHeads,
    head_dim: d.headDim,
    [family.layerCountKey]: layers,
    vocab_size: d.vocab,
    tie_word_embeddings: tied,
  };
}
