// Next-token cross-entropy over the decoder's logits: the loss of pretraining and SFT and the
// per-token likelihoods that perplexity and scoring read.
import type { Graph, Value } from "../graph/graph.js";

/**
 * Mean next-token cross-entropy: logits [B, T, V], targets [B, T] (int64), weights [B, T] (1 where
 * a token counts). Also returns the per-token negative log-likelihood [B, T].
 */
export function crossEntropy(
  g: Graph,
  logits: Value,
  B: number,
  T: number,
): { loss: Value; nll: Value; targets: Value; weights: Value } {
  const targets = g.input("targets", "int64", [B, T]);
  const weights = g.input("loss_weights", "float32", [B, T]);
  const ce = g.op("SoftmaxCrossEntropy", [logits, g.op("Reshape", [targets], { shape: [B, T, 1] })]); // [B, T, 1]
  const nll = g.op("Reshape", [ce], { shape: [B, T] });
  const total = g.op("ReduceSum", [g.op("Mul", [nll, weights])], { axes: [0, 1], keepdims: 0 });
  const count = g.op("ReduceSum", [weights], { axes: [0, 1], keepdims: 0 });
  return { loss: g.op("Div", [total, count]), nll, targets, weights };
}
