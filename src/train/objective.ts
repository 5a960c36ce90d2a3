// What a training objective plugs into the run scaffold (run.ts). The scaffold owns everything a
// run does whatever it trains for: output and --force, resume, the loop, evaluation cadence,
// metrics, checkpoints, lineage and card. An objective owns its data and its loss: how examples
// are read and batched (and where the data stands, for exact resume), the loss graph on the
// decoder's outputs with the feeds it needs, what it logs, and how it evaluates.
import { isEmbedded } from "../data/embeddedCorpus.js";
import { UsageError } from "../errors.js";
import type { LoadedWeights } from "../nn/loadParams.js";
import type { DecoderModel } from "../nn/decoderModel.js";
import type { DecoderOptions } from "../nn/llama.js";
import type { Tokenizer } from "../tokenizer/loadTokenizer.js";
import type { StepBatch } from "./engineStep.js";
import type { EvalResult } from "./loop.js";
import type { LossBuilder } from "./stepGraphs.js";

/** Where an objective's data stands (epoch, cursor…): saved in every checkpoint as JSON. */
export type DataPosition = Record<string, number>;

/** What the scaffold hands an objective once the model is loaded and the options are checked. */
export interface ObjectiveContext {
  model: LoadedWeights;
  tokenizer: Tokenizer;
  /** Examples per micro-batch and micro-batches per optimizer step. */
  batch: number;
  microBatches: number;
  seed: number;
  note: (message: string) => void;
}

/**
 * An objective before its data is read: what the scaffold needs to check options, memory and the
 * output folder before anything is written.
 */
export interface ObjectiveSpec {
  /** The lineage's training method and the trainer state's objective: "pretrain", "sft", "dpo". */
  method: string;
  /** The model card's section heading. */
  title: string;
  /** Files and folders it reads: the output may not replace or sit inside them. */
  inputs: string[];
  /** Tokens per decoder row. */
  seqLen: number;
  /** Decoder rows of a micro-batch of `batch` examples (DPO runs chosen and rejected side by side). */
  rows(batch: number): number;
  /**
   * Changes the model needs before it trains, made on the loaded base (SFT: a chat template and the
   * tokens it adds): the weights, tokenizer and config trained and saved instead of the base's.
   */
  adaptModel?(
    base: LoadedWeights,
    tokenizer: Tokenizer,
    note: (m: string) => void,
  ): Promise<AdaptedModel | undefined>;
  /** Reads and checks the data; may refuse it (UsageError) before the output is touched. */
  prepare(ctx: ObjectiveContext): Promise<Objective>;
}

export interface AdaptedModel {
  /** The weights and config.json to train; its folder stays the base's (lineage, card). */
  model: LoadedWeights;
  tokenizer: Tokenizer;
  /** The folder whose tokenizer files, chat template and generation config checkpoints carry. */
  filesFrom: string;
  /** What the run's fingerprint adds, so a resumed run adapts the model the same way. */
  fingerprint: Record<string, string | number>;
  close(): Promise<void>;
}

export interface Objective {
  loss: LossBuilder;
  /** The decoder's optional inputs its batches carry (per-row positions for packed examples). */
  decoder?: DecoderOptions;
  /** Row lengths shorter than seqLen its micro-batches may have (padding only to what they need). */
  lengths?: readonly number[];
  /** What --resume must find unchanged, besides the model and the run's shape (data hashes, lengths). */
  fingerprint: Record<string, string | number>;
  /** Its settings, recorded in trainer_state.json and the lineage. */
  settings: Record<string, unknown>;
  /** The micro-batches of the next optimizer step; advances the data position. */
  nextStep(): Promise<StepBatch[]>;
  position(): DataPosition;
  /** Moves the data to a checkpoint's position. */
  restore(position: DataPosition): void;
  /** Held-out measures of the model being trained; absent when there is no held-out data. */
  evaluate?: (model: DecoderModel) => Promise<EvalResult>;
  /** Its part of the card's description line ("sequence length 1024"). */
  describe(): string;
  close(): Promise<void>;
}

/** What every objective's data options say: training data, and held-out data or a fraction of it. */
export interface DataOptions {
  data: string[];
  evalData?: string[];
  evalFraction?: number;
}

/**
 * Checks the data options before anything is read (UsageError), and returns the paths on disk the
 * output must keep away from (embedded corpora are named, not paths).
 */
export function checkDataOptions(o: DataOptions): string[] {
  if (o.data.length === 0) throw new UsageError("--data: name at least one file or folder");
  if (o.evalData && o.evalFraction) throw new UsageError("give --eval-data or --eval-fraction, not both");
  if (o.evalFraction !== undefined && !(o.evalFraction > 0 && o.evalFraction < 1))
    throw new UsageError(`--eval-fraction ${o.evalFraction}: must be between 0 and 1`);
  return [...o.data, ...(o.evalData ?? [])].filter((p) => !isEmbedded(p));
}
