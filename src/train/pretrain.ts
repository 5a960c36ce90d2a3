// `deepen train pretrain`: continued pretraining (step 2 of the SOLAR recipe), the first objective
// of the run scaffold. Its data is a corpus packed into sequences of --seq-len tokens, shuffled per
// epoch; its loss is next-token cross-entropy on every token; it evaluates held-out perplexity.
import { countOf } from "../formatCount.js";
import { createHash } from "node:crypto";
import { defaultCacheDir } from "../checkpoint/cacheDir.js";
import { skippedNote } from "../data/corpus.js";
import { PackedSequences, shuffledOrder, splitDocuments } from "../data/packing.js";
import { type TokenizedCorpus, tokenizeCorpus } from "../data/tokenCache.js";
import { UsageError } from "../errors.js";
import type { DecoderModel } from "../nn/decoderModel.js";
import { PRETRAIN_DEFAULTS, RUN_DEFAULTS } from "./defaults.js";
import type { StepBatch } from "./engineStep.js";
import { nextTokenBatch, nextTokenLoss } from "./nextTokenLoss.js";
import { checkDataOptions, type Objective, type ObjectiveContext, type ObjectiveSpec } from "./objective.js";
import { runTraining, type RunOptions, type RunResult } from "./run.js";

export { FINAL_DIR, METRICS_FILE } from "./runFolder.js";

export interface PretrainOptions extends RunOptions {
  data: string[];
  seqLen?: number;
  evalData?: string[];
  evalFraction?: number;
  /** Eval batches per evaluation (default: the whole held-out set, at most 64 batches). */
  evalBatches?: number;
  textField?: string;
  /** Extensions read from data folders (default DEFAULT_TEXT_EXTENSIONS). */
  extensions?: string[];
  cacheDir?: string;
}

export type PretrainResult = RunResult;

export { defaultCacheDir };

const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

export function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  return runTraining(o, pretrainObjective(o));
}

/** Continued pretraining as an objective: checks its options now, reads its data in prepare(). */
export function pretrainObjective(o: PretrainOptions): ObjectiveSpec {
  const seqLen = o.seqLen ?? PRETRAIN_DEFAULTS.seqLen;
  const inputs = checkDataOptions(o);
  return {
    method: "pretrain",
    title: "Continued pretraining",
    inputs,
    seqLen,
    rows: (batch) => batch,
    prepare: (ctx) => preparePretrain(o, seqLen, ctx),
  };
}

async function preparePretrain(
  o: PretrainOptions,
  seqLen: number,
  ctx: ObjectiveContext,
): Promise<Objective> {
  const { batch, microBatches, seed } = ctx;
  // The token cache is shared by runs with the same tokenizer and inputs.
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const textField = o.textField ?? PRETRAIN_DEFAULTS.textField;
  const skipped: string[] = [];
  const list = { cacheDir, textField, extensions: o.extensions, onSkip: (p: string) => skipped.push(p) };
  const train = await tokenizeCorpus(o.data, ctx.tokenizer, list);
  let evalCorpus: TokenizedCorpus | undefined;
  const close = async () => {
    await train.corpus.close();
    if (evalCorpus && evalCorpus !== train.corpus) await evalCorpus.close();
  };
  try {
    ctx.note(
      `${train.reused ? "reusing" : "tokenized"} ${countOf(train.corpus.totalTokens, "token")} in ${countOf(train.corpus.documents, "document")}`,
    );
    if (skipped.length > 0) ctx.note(skippedNote(skipped, o.extensions));
    let trainDocs = [...Array(train.corpus.documents).keys()];
    let evalDocs: number[] = [];
    if (o.evalData) {
      evalCorpus = (await tokenizeCorpus(o.evalData, ctx.tokenizer, list)).corpus;
      evalDocs = [...Array(evalCorpus.documents).keys()];
    } else if (o.evalFraction) {
      const split = splitDocuments(train.corpus.documents, o.evalFraction, seed);
      trainDocs = split.train;
      evalDocs = split.eval;
      evalCorpus = train.corpus;
    }
    const sequences = new PackedSequences(train.corpus, trainDocs, seqLen);
    if (sequences.count < batch) {
      throw new UsageError(
        `the corpus packs into ${sequences.count} sequences of ${seqLen} tokens; --batch ${batch} needs at least as many`,
      );
    }
    const evalSeqs = evalCorpus ? new PackedSequences(evalCorpus, evalDocs, seqLen) : undefined;

    // Data position: the epoch and the index into that epoch's shuffled order.
    let epoch = 0;
    let cursor = 0;
    let order = shuffledOrder(sequences.count, seed, epoch);
    const toBatch = (seqs: Uint32Array[]): StepBatch =>
      nextTokenBatch(
        seqs.map((s) => Array.from(s.subarray(0, seqLen))),
        seqs.map((s) => Array.from(s.subarray(1, seqLen + 1))),
      );

    const evaluate = async (model: DecoderModel) => {
      const n = Math.min(evalSeqs!.count, (o.evalBatches ?? RUN_DEFAULTS.evalBatches) * batch);
      if (n === 0) throw new UsageError(`the held-out text packs into no sequence of ${seqLen} tokens`);
      let total = 0;
      let tokens = 0;
      for (let i = 0; i < n; i += batch) {
        // The last batch is filled up by repeating its last sequence; only real sequences count.
        const idx = Array.from({ length: batch }, (_, b) => Math.min(i + b, n - 1));
        const seqs = await Promise.all(idx.map((j) => evalSeqs!.get(j)));
        const nll = await model.nll(
          seqs.map((s) => Array.from(s.subarray(0, seqLen))),
          seqs.map((s) => Array.from(s.subarray(1, seqLen + 1))),
        );
        const real = Math.min(batch, n - i);
        for (let k = 0; k < real * seqLen; k++) total += nll[k]!;
        tokens += real * seqLen;
      }
      const loss = total / tokens;
      return { loss, perplexity: Math.exp(loss) };
    };

    return {
      loss: nextTokenLoss,
      fingerprint: { seq_len: seqLen, data: sha(train.corpus.key + (o.evalFraction ?? "")) },
      settings: { data: o.data, seq_len: seqLen },
      nextStep: async () => {
        const micro: StepBatch[] = [];
        for (let k = 0; k < microBatches; k++) {
          if (cursor + batch > sequences.count) {
            epoch++;
            cursor = 0;
            order = shuffledOrder(sequences.count, seed, epoch);
          }
          const seqs: Uint32Array[] = [];
          for (let b = 0; b < batch; b++) seqs.push(await sequences.get(order[cursor + b]!));
          cursor += batch;
          micro.push(toBatch(seqs));
        }
        return micro;
      },
      position: () => ({ epoch, cursor }),
      restore: (p) => {
        epoch = p.epoch ?? 0;
        cursor = p.cursor ?? 0;
        order = shuffledOrder(sequences.count, seed, epoch);
      },
      evaluate: evalSeqs ? evaluate : undefined,
      describe: () => `Sequence length ${seqLen}`,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
