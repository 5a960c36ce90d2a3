// Every training option's default, in one place: the library applies them, the CLI shows them in
// its help, and the card and trainer state record the values a run actually used.
import type { ScheduleKind } from "./schedule.js";

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** β₂ = 0.95 and decay 0.1: the LLM pretraining settings of Llama and most open models since. */
export const ADAMW_DEFAULTS: AdamWSettings = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export const RUN_DEFAULTS = {
  batch: 8,
  gradAccum: 1,
  lr: 3e-4,
  /** --min-lr is --lr divided by this unless given. */
  minLrDivisor: 10,
  warmup: 0,
  schedule: "cosine" as ScheduleKind,
  /** Global gradient-norm clipping threshold; 0 turns it off. */
  clipNorm: 1,
  seed: 0,
  /** Evaluations per run when --eval-every is not given. */
  evaluations: 10,
  /** Batches per evaluation at most, when --eval-batches is not given. */
  evalBatches: 64,
};

export const PRETRAIN_DEFAULTS = {
  seqLen: 1024,
  textField: "text",
};

/** TRL's SFTTrainer defaults (max_length 1024, learning rate 2e-5): what practitioners expect. */
export const SFT_DEFAULTS = {
  seqLen: 1024,
  lr: 2e-5,
};

/** TRL's DPOConfig defaults (learning rate 1e-6, beta 0.1, sigmoid loss, max_length 1024). */
export const DPO_DEFAULTS = {
  seqLen: 1024,
  lr: 1e-6,
  beta: 0.1,
  loss: "sigmoid" as const,
};
