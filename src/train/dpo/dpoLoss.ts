// DPO and its variants as a loss on the decoder's outputs. A micro-batch of B pairs is 2B rows:
// the chosen responses in rows [0, B), the rejected in [B, 2B), each with its prompt. A row's
// sequence log-probability is the sum of the log-probabilities of its response tokens (the SFT
// mask); the reference model's are fed in, computed once before training.
//
//   z = (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))
//   sigmoid (DPO, Rafailov et al., arXiv 2305.18290; with label smoothing ε, conservative DPO):
//       −(1−ε)·log σ(βz) − ε·log σ(−βz)
//   ipo (Azar et al., arXiv 2310.12036): (z − 1/(2β))², on length-averaged log-probabilities
//   hinge (SLiC, Zhao et al., arXiv 2305.10425): max(0, 1 − βz)
//   + α · NLL of the chosen responses (RPO, Pang et al., arXiv 2404.19733; TRL's rpo_alpha): the
//     mean over the micro-batch's chosen response tokens, which holds the chosen answers' own
//     likelihood up while the margin grows (plain DPO lets both sides fall)
//
// The loss of a step is the mean over its pairs: each micro-batch's sum is divided by the step's
// pair count ÷ micro-batches (fed), so accumulation gives the step one big batch gives. The
// metrics are TRL's: implicit rewards β·(log π − log π_ref) of each side, their margin, how often
// the chosen one wins, and the policy's log-probabilities.
import type { Graph, Value } from "../../graph/graph.js";
import { crossEntropy } from "../../nn/crossEntropy.js";
import type { StepBatch } from "../engineStep.js";
import { nextTokenBatch } from "../nextTokenLoss.js";
import type { SftRows } from "../sft/sftLoss.js";
import type { LossBuilder } from "../stepGraphs.js";

export const DPO_LOSSES = ["sigmoid", "ipo", "hinge"] as const;
export type DpoLossKind = (typeof DPO_LOSSES)[number];

export interface DpoLossSettings {
  loss: DpoLossKind;
  beta: number;
  /** Conservative DPO's ε: the chance a preference label is flipped (sigmoid only). */
  labelSmoothing: number;
  /** Length-averaged sequence log-probabilities (always, for ipo). */
  averageLogps: boolean;
  /** Weight of the chosen responses' token-mean NLL added to the loss (0: plain DPO). */
  rpoAlpha: number;
}

/** Graph inputs the loss reads besides targets and weights. */
export const DPO_INPUTS = {
  /** [2B] the reference's sequence log-probabilities, laid out as the rows (0 with --ref-free). */
  refLogps: "ref_logps",
  /** The step's pairs ÷ micro-batches. */
  pairs: "pair_denominator",
};

const sum1 = (g: Graph, x: Value) => g.op("ReduceSum", [x], { axes: [1], keepdims: 0 });
const mean = (g: Graph, x: Value) => g.op("ReduceMean", [x], { axes: [0], keepdims: 0 });

/** Per-row sequence log-probabilities [rows] of the response tokens. */
export function sequenceLogps(g: Graph, nll: Value, weights: Value, average: boolean): Value {
  const logp = g.op("Neg", [sum1(g, g.op("Mul", [nll, weights]))]);
  return average ? g.op("Div", [logp, sum1(g, weights)]) : logp;
}

export function dpoLoss(s: DpoLossSettings): LossBuilder {
  const average = s.averageLogps || s.loss === "ipo";
  return (g, dec, rows, T) => {
    const B = rows / 2;
    const f = (x: number) => g.constant(x, [], "float32");
    const { nll, weights } = crossEntropy(g, dec.logits, rows, T);
    const policy = sequenceLogps(g, nll, weights, average); // [2B]
    const ref = g.input(DPO_INPUTS.refLogps, "float32", [rows]);
    const half = (x: Value, first: boolean) =>
      g.op("Slice", [x], { axes: [0], starts: [first ? 0 : B], ends: [first ? B : rows] }); // [B]
    const ratio = g.op("Sub", [policy, ref]); // [2B]: log π − log π_ref per row
    const chosen = half(ratio, true);
    const rejected = half(ratio, false);
    const z = g.op("Sub", [chosen, rejected]); // [B]
    const bz = g.op("Mul", [z, f(s.beta)]);
    let perPair: Value;
    if (s.loss === "sigmoid") {
      // −log σ(x) = softplus(−x)
      const pos = g.op("Softplus", [g.op("Neg", [bz])]);
      const neg = g.op("Softplus", [bz]);
      perPair = g.op("Add", [
        g.op("Mul", [pos, f(1 - s.labelSmoothing)]),
        g.op("Mul", [neg, f(s.labelSmoothing)]),
      ]);
    } else if (s.loss === "ipo") {
      const d = g.op("Sub", [z, f(1 / (2 * s.beta))]);
      perPair = g.op("Mul", [d, d]);
    } else {
      perPair = g.op("Relu", [g.op("Sub", [f(1), bz])]);
    }
    const total = g.op("ReduceSum", [perPair], { axes: [0], keepdims: 0 });
    const rChosen = g.op("Mul", [chosen, f(s.beta)]);
    const rRejected = g.op("Mul", [rejected, f(s.beta)]);
    let loss = g.op("Div", [total, g.input(DPO_INPUTS.pairs, "float32", [])]);
    const extra: Record<string, Value> = {};
    if (s.rpoAlpha > 0) {
      const all0 = (x: Value) => g.op("ReduceSum", [half(x, true)], { axes: [0], keepdims: 0 });
      const nllLoss = g.op("Div", [all0(sum1(g, g.op("Mul", [nll, weights]))), all0(sum1(g, weights))]);
      loss = g.op("Add", [loss, g.op("Mul", [nllLoss, f(s.rpoAlpha)])]);
      extra.nll_loss = nllLoss;
    }
    return {
      loss,
      metrics: {
        ...extra,
        "rewards/chosen": mean(g, rChosen),
        "rewards/rejected": mean(g, rRejected),
        "rewards/margins": mean(g, g.op("Sub", [rChosen, rRejected])),
        "rewards/accuracies": mean(g, g.op("Step", [z])),
        "logps/chosen": mean(g, half(policy, true)),
        "logps/rejected": mean(g, half(policy, false)),
      },
    };
  };
}

/**
 * A micro-batch of `rows` (chosen sides, then rejected) for dpoLoss, with the reference's
 * log-probabilities laid out as the rows. Every micro-batch of a step holds the same number of
 * pairs, so each one's sum ÷ its pairs, averaged over micro-batches, is the step's mean.
 */
export function dpoStepBatch(rows: SftRows, refLogps: Float32Array): StepBatch {
  const b = nextTokenBatch(rows.tokens, rows.targets, rows.weights);
  b.feeds[DPO_INPUTS.refLogps] = { dtype: "float32", shape: [rows.tokens.length], data: refLogps };
  b.feeds[DPO_INPUTS.pairs] = { dtype: "float32", shape: [], data: Float32Array.of(rows.tokens.length / 2) };
  return { ...b, tokenCount: rows.tokenCount };
}

const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** One pair's DPO term from its z (the difference of log-ratios), on the host: held-out evaluation
 * (RPO's NLL term is added there over all the held-out chosen tokens). */
export function pairLoss(s: DpoLossSettings, z: number): number {
  const bz = s.beta * z;
  if (s.loss === "sigmoid") return (1 - s.labelSmoothing) * softplus(-bz) + s.labelSmoothing * softplus(bz);
  if (s.loss === "ipo") return (z - 1 / (2 * s.beta)) ** 2;
  return Math.max(0, 1 - bz);
}
