// The loss of pretraining and SFT: mean cross-entropy of each next token, over the tokens whose
// weight is 1 (all of them when pretraining; the assistant's when instruction tuning).
import { crossEntropy } from "../nn/crossEntropy.js";
import { int64Rows } from "../runtime/session.js";
import type { StepBatch } from "./engineStep.js";
import type { LossBuilder } from "./stepGraphs.js";

export const nextTokenLoss: LossBuilder = (g, dec, B, T) => ({
  loss: crossEntropy(g, dec.logits, B, T).loss,
});

/** A micro-batch for nextTokenLoss: rows of input tokens, their next tokens, optional 0/1 weights. */
export function nextTokenBatch(tokens: number[][], targets: number[][], weights?: number[][]): StepBatch {
  const B = tokens.length;
  const T = tokens[0]?.length ?? 0;
  const w = weights ? Float32Array.from(weights.flat()) : new Float32Array(B * T).fill(1);
  return {
    tokens,
    feeds: {
      targets: int64Rows(targets),
      loss_weights: { dtype: "float32", shape: [B, T], data: w },
    },
    // Tokens the model reads, as throughput and --max-tokens count them (an objective that pads
    // its rows counts only the real ones).
    tokenCount: B * T,
  };
}
