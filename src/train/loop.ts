// The training loop, independent of what is trained: it takes the step (loss, gradients and update
// in the engine) and the batching as parameters, so pretraining, SFT and DPO share it and differ
// only in what they pass in.
import { DeepenError } from "../errors.js";
import type { StepBatch, StepResult } from "./engineStep.js";

export class TrainingError extends DeepenError {
  override readonly name = "TrainingError";
}

/** One line of metrics.jsonl. */
export interface StepRecord {
  step: number;
  tokens: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  /** The objective's own per-step metrics, and its evaluation's as eval_<name> (eval_loss, eval_perplexity…). */
  [metric: string]: number;
}

/** An objective's held-out measures: a loss, and whatever else it reports (perplexity, reward accuracy…). */
export interface EvalResult {
  loss: number;
  [measure: string]: number;
}

export interface LoopParts {
  /** Optimizer steps already done (a resumed run starts after them). */
  startStep: number;
  totalSteps: number;
  tokensSeen: number;
  /** The micro-batches of the next optimizer step; advances the data position. */
  nextMicroBatches(): Promise<StepBatch[]>;
  step(micro: StepBatch[], lr: number): Promise<StepResult>;
  learningRate(step: number): number;
  evalEvery?: number;
  evaluate?(): Promise<EvalResult>;
  saveEvery?: number;
  /** Saves a checkpoint after `step` steps; returns where. */
  save(step: number, tokensSeen: number, finished: boolean): Promise<string>;
  skipNonFinite: boolean;
  /** Batches skipped for non-finite values so far (resumed runs carry their count). */
  skipped: number;
  onSkip?(step: number): void;
  log(record: StepRecord): void;
  /** True once the user asked to stop (Ctrl-C): the loop saves and returns. */
  interrupted(): boolean;
  /** The newest saved checkpoint before this run, for error messages. */
  lastCheckpoint?: string;
}

export interface LoopResult {
  steps: number;
  tokensSeen: number;
  skipped: number;
  interrupted: boolean;
  lastCheckpoint?: string;
  lastEval?: EvalResult;
}

/** Skipping is for the odd bad batch; this many in a row means the run has diverged. */
export const MAX_SKIPS_IN_A_ROW = 20;

export async function runTrainingLoop(p: LoopParts): Promise<LoopResult> {
  let step = p.startStep;
  let tokens = p.tokensSeen;
  let skipped = p.skipped;
  let last = p.lastCheckpoint;
  let lastEval: EvalResult | undefined;
  let skippedInARow = 0;
  while (step < p.totalSteps) {
    if (p.interrupted()) {
      last = await p.save(step, tokens, false);
      return { steps: step, tokensSeen: tokens, skipped, interrupted: true, lastCheckpoint: last, lastEval };
    }
    const micro = await p.nextMicroBatches();
    const lr = p.learningRate(step + 1);
    const t0 = performance.now();
    const r = await p.step(micro, lr);
    const seconds = (performance.now() - t0) / 1000;
    if (r.nonFinite) {
      if (!p.skipNonFinite) {
        throw new TrainingError(
          `non-finite ${Number.isFinite(r.loss) ? "gradient" : "loss"} at step ${step + 1}; ` +
            `last good checkpoint: ${last ?? "none (the starting model)"}; --skip-nonfinite skips such batches`,
        );
      }
      skipped++;
      if (++skippedInARow >= MAX_SKIPS_IN_A_ROW) {
        throw new TrainingError(
          `${skippedInARow} batches in a row had non-finite values at step ${step + 1}: the model has diverged; ` +
            `last good checkpoint: ${last ?? "none (the starting model)"}`,
        );
      }
      p.onSkip?.(step + 1);
      continue;
    }
    skippedInARow = 0;
    step++;
    const stepTokens = micro.reduce((a, b) => a + b.tokenCount, 0);
    tokens += stepTokens;
    const record: StepRecord = {
      step,
      tokens,
      loss: r.loss,
      lr,
      grad_norm: r.gradNorm,
      tokens_per_s: stepTokens / seconds,
      ...r.metrics,
    };
    if (p.evaluate && p.evalEvery && (step % p.evalEvery === 0 || step === p.totalSteps)) {
      lastEval = await p.evaluate();
      for (const [k, v] of Object.entries(lastEval)) record[`eval_${k}`] = v;
    }
    p.log(record);
    if (step === p.totalSteps) last = await p.save(step, tokens, true);
    else if (p.saveEvery && step % p.saveEvery === 0) last = await p.save(step, tokens, false);
  }
  return { steps: step, tokensSeen: tokens, skipped, interrupted: false, lastCheckpoint: last, lastEval };
}
