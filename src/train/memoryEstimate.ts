import type { ResolvedDecoder } from "../arch/decoderConfig.js";

/**
 * Rough peak memory of a fused training step, in bytes: float32 parameters, their gradients, AdamW
 * moments and the updated copies the step returns, plus the activations the backward pass keeps
 * (1.3× the forward's: saved values and their gradients in flight) and two [B, T, V] tensors for the
 * loss (the logits and the softmax its gradient is built in); or, when that is less, what the update
 * holds at its end. Calibrated on the 125M Llama shape, batch 4 × 512: bench:engine (estimate
 * 8.2 GiB, measured peak 8.2 GiB, 2026-12-02); with --recompute, bench:train (estimate 6.0 GiB,
 * measured 6.6 GiB, 2026-12-03).
 */
export function trainingBytes(
  d: ResolvedDecoder,
  params: number,
  trainable: number,
  B: number,
  T: number,
  recompute = false,
): number {
  const c = d.config;
  const H = c.hidden_size;
  const I = c.intermediate_size;
  const qkv = (d.heads + 2 * d.kvHeads) * d.headDim;
  const perLayer = B * T * (8 * H + 2 * qkv + 4 * I) + 2 * B * d.heads * T * T;
  // Recomputing keeps each layer's input and, while a layer's backward runs, that layer's activations.
  const kept = recompute
    ? B * T * H * c.num_hidden_layers + 1.3 * perLayer
    : 1.3 * perLayer * c.num_hidden_layers;
  const activations = kept + 2 * B * T * c.vocab_size;
  // The update's end holds the run's base weights and the engine's, the gradients, and the old and
  // new parameters and moments twice over (onnxruntime-node copies each output from its arena into a
  // new buffer): with activations recomputed, this is the peak.
  const update = 2 * params + 10 * trainable;
  return 4 * Math.max(activations + params + 7 * trainable, update);
}

/** The largest batch whose estimate stays under `budget` bytes (0 when even 1 does not fit). */
export function largestBatch(
  d: ResolvedDecoder,
  params: number,
  trainable: number,
  T: number,
  budget: number,
  recompute = false,
): number {
  let b = 0;
  while (trainingBytes(d, params, trainable, b + 1, T, recompute) <= budget && b < 4096) b++;
  return b;
}
