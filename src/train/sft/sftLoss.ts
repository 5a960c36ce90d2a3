// SFT's loss: cross-entropy summed over the loss-bearing tokens of a micro-batch and divided by the
// number of loss-bearing tokens in the whole optimizer step (fed in, as the graph sees only its own
// micro-batch). Each token then weighs the same whatever micro-batch it lands in, so accumulating
// micro-batches gives exactly the step one big batch gives, however unevenly the targets fall;
// a per-micro-batch mean would weigh a token of a short micro-batch more.
import { crossEntropy } from "../../nn/crossEntropy.js";
import type { StepBatch } from "../engineStep.js";
import { nextTokenBatch } from "../nextTokenLoss.js";
import type { LossBuilder } from "../stepGraphs.js";

/** The graph input holding the step's loss-bearing token count ÷ micro-batches (see sftStepBatches). */
export const LOSS_DENOMINATOR = "loss_denominator";

export const sftLoss: LossBuilder = (g, dec, B, T) => {
  const { nll, weights } = crossEntropy(g, dec.logits, B, T);
  const total = g.op("ReduceSum", [g.op("Mul", [nll, weights])], { axes: [0, 1], keepdims: 0 });
  return {
    loss: g.op("Div", [total, g.input(LOSS_DENOMINATOR, "float32", [])]),
    metrics: { targets: g.op("ReduceSum", [weights], { axes: [0, 1], keepdims: 0 }) },
  };
};

/** A micro-batch's rows before the step's denominator is known. */
export interface SftRows {
  tokens: number[][];
  targets: number[][];
  weights: number[][];
  /** Per-row position and segment ids, for packed rows. */
  positions?: number[][];
  segments?: number[][];
  /** Real (not padding) tokens. */
  tokenCount: number;
}

/**
 * The step's micro-batches with their shared denominator: the step's loss-bearing tokens divided by
 * the micro-batch count, since the engine averages accumulated gradients over micro-batches
 * (Σ_k loss_k / K = Σ weighted nll / targets of the step).
 */
export function sftStepBatches(micro: SftRows[]): StepBatch[] {
  const targets = micro.reduce(
    (a, m) => a + m.weights.reduce((s, r) => s + r.reduce((x, w) => x + w, 0), 0),
    0,
  );
  // A step with no target at all (only possible with hand-made data) trains nothing: loss 0, not 0/0.
  const denominator = Math.max(1, targets) / micro.length;
  return micro.map((m) => {
    const b = nextTokenBatch(m.tokens, m.targets, m.weights);
    b.feeds[LOSS_DENOMINATOR] = { dtype: "float32", shape: [], data: Float32Array.of(denominator) };
    return {
      ...b,
      ...(m.positions && { positions: m.positions, segments: m.segments }),
      tokenCount: m.tokenCount,
    };
  });
}
