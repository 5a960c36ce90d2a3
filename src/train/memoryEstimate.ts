import type { ResolvedDecoder } from "../nn/decoderConfig.js";

/**
 * Rough peak memory of a fused training step, in bytes: float32 parameters, their gradients, AdamW
 * moments and the updated copies the step returns, plus the activations the backward pass keeps
 * (1.3× the forward's: saved values and their gradients in flight) and two [B, T, V] tensors for the
 * loss (the logits and the softmax its gradient is built in). Calibrated on the 125M Llama shape of
 * bench:engine (estimate 8.2 GiB, measured peak 8.2 GiB, 2026-12-02).
 */
export function trainingBytes(
  d: ResolvedDecoder,
  params: number,
  trainable: number,
  B: number,
  T: number,
): number {
  const c = d.config;
  const H = c.hidden_size;
  const I = c.intermediate_size;
  const qkv = (d.heads + 2 * d.kvHeads) * d.headDim;
  const perLayer = B * T * (8 * H + 2 * qkv + 4 * I) + 2 * B * d.heads * T * T;
  const activations = 1.3 * perLayer * c.num_hidden_layers + 2 * B * T * c.vocab_size;
  return 4 * (activations + params + 7 * trainable);
}

/** The largest batch whose estimate stays under `budget` bytes (0 when even 1 does not fit). */
export function largestBatch(
  d: ResolvedDecoder,
  params: number,
  trainable: number,
  T: number,
  budget: number,
): number {
  let b = 0;
  while (trainingBytes(d, params, trainable, b + 1, T) <= budget && b < 4096) b++;
  return b;
}
