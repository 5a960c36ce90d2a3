// `deepen train dpo`: preference alignment (step 4 of the SOLAR recipe) as an objective of the run
// scaffold. Its data is preference pairs rendered with the chat template as SFT renders them; each
// micro-batch runs both sides of its pairs side by side; its loss is DPO or a variant on the
// policy's and a frozen reference's sequence log-probabilities of the responses, the reference's
// computed once before training and kept in the run folder for --resume.
import { countOf } from "../formatCount.js";
import type { PreferenceFormat } from "../data/instruct/preference.js";
import { splitDocuments } from "../data/packing.js";
import { UsageError } from "../errors.js";
import { DecoderModel } from "../nn/decoderModel.js";
import { BUILTIN_TEMPLATES, builtinTemplate } from "../tokenizer/builtinTemplates.js";
import { loadTokenizer } from "../tokenizer/loadTokenizer.js";
import { stageChatTokenizer } from "../tokenizer/stageChatTokenizer.js";
import { DPO_DEFAULTS, RUN_DEFAULTS } from "./defaults.js";
import { DpoBatcher } from "./dpo/dpoBatcher.js";
import { lengthBuckets } from "./sft/sftBatcher.js";
import { readDpoDataset, type DpoDataset, type EncodedPair } from "./dpo/dpoData.js";
import {
  DPO_INPUTS,
  DPO_LOSSES,
  dpoLoss,
  type DpoLossKind,
  type DpoLossSettings,
  pairLoss,
} from "./dpo/dpoLoss.js";
import {
  readReferenceCache,
  referenceIdentity,
  sequenceLogpsOf,
  writeReferenceCache,
} from "./dpo/referenceLogps.js";
import {
  type AdaptedModel,
  checkDataOptions,
  type Objective,
  type ObjectiveContext,
  type ObjectiveSpec,
} from "./objective.js";
import { runTraining, type RunOptions, type RunResult } from "./run.js";
import { int64Rows } from "../runtime/session.js";
import { openModelFolder } from "../checkpoint/modelFolder.js";
import type { EvalResult } from "./loop.js";

export interface DpoOptions extends RunOptions {
  data: string[];
  seqLen?: number;
  evalData?: string[];
  evalFraction?: number;
  evalBatches?: number;
  format?: PreferenceFormat;
  skipBad?: boolean;
  extensions?: string[];
  template?: string;
  truncate?: boolean;
  loss?: DpoLossKind;
  beta?: number;
  labelSmoothing?: number;
  averageLogps?: boolean;
  /** The reference model (default: the starting model, frozen). */
  ref?: string;
  /** No reference: its log-probabilities are taken as 0. */
  refFree?: boolean;
}

const templateHint = () => `give --template NAME (${Object.keys(BUILTIN_TEMPLATES).join(", ")})`;

export function dpo(o: DpoOptions): Promise<RunResult> {
  return runTraining({ ...o, lr: o.lr ?? DPO_DEFAULTS.lr }, dpoObjective(o));
}

export function dpoSettings(o: DpoOptions): DpoLossSettings {
  const loss = o.loss ?? DPO_DEFAULTS.loss;
  if (!(DPO_LOSSES as readonly string[]).includes(loss))
    throw new UsageError(`--loss ${loss}: expected one of ${DPO_LOSSES.join(", ")}`);
  const beta = o.beta ?? DPO_DEFAULTS.beta;
  if (!(beta > 0)) throw new UsageError(`--beta ${beta}: must be > 0`);
  const labelSmoothing = o.labelSmoothing ?? 0;
  if (!(labelSmoothing >= 0 && labelSmoothing < 0.5))
    throw new UsageError(`--label-smoothing ${labelSmoothing}: must be in [0, 0.5)`);
  if (labelSmoothing > 0 && loss !== "sigmoid")
    throw new UsageError("--label-smoothing applies to --loss sigmoid only");
  return { loss, beta, labelSmoothing, averageLogps: !!o.averageLogps || loss === "ipo" };
}

export function dpoObjective(o: DpoOptions): ObjectiveSpec {
  const seqLen = o.seqLen ?? DPO_DEFAULTS.seqLen;
  const inputs = checkDataOptions(o);
  const settings = dpoSettings(o);
  if (o.ref && o.refFree) throw new UsageError("--ref and --ref-free contradict each other: give one");
  const format = o.template === undefined ? undefined : builtinTemplate(o.template);
  return {
    method: "dpo",
    title: "Preference alignment (DPO)",
    inputs: [...inputs, ...(o.ref ? [o.ref] : [])],
    seqLen,
    // Both sides of every pair run in the same micro-batch: the memory estimate counts them.
    rows: (batch) => 2 * batch,
    adaptModel: async (_base, tokenizer): Promise<AdaptedModel | undefined> => {
      if (!format) return undefined;
      const staged = await stageChatTokenizer(tokenizer.dir, tokenizer, { format, addTokens: false });
      return {
        model: _base,
        tokenizer: staged.tokenizer,
        filesFrom: staged.dir,
        fingerprint: { template: format.name },
        close: staged.close,
      };
    },
    prepare: (ctx) => prepareDpo(o, seqLen, settings, ctx),
  };
}

async function prepareDpo(
  o: DpoOptions,
  seqLen: number,
  s: DpoLossSettings,
  ctx: ObjectiveContext,
): Promise<Objective> {
  const { batch, microBatches, seed, tokenizer } = ctx;
  const readOpts = {
    seqLen,
    format: o.format,
    skipBad: o.skipBad,
    truncate: o.truncate,
    extensions: o.extensions,
    templateHint: templateHint(),
    note: ctx.note,
  };
  const data = await readDpoDataset(o.data, tokenizer, readOpts);
  if (data.pairs.length === 0)
    throw new UsageError(
      `${o.data.join(", ")}: no pair left to train on (${data.read + data.identical} read: ${data.identical} with chosen identical to rejected, ${data.dropped} longer than --seq-len ${seqLen}${data.skipped ? `, ${data.skipped} bad` : ""})`,
    );
  ctx.note(describeDataset(data, seqLen, o.data));
  let train = data.pairs;
  let held: EncodedPair[] = [];
  if (o.evalData) {
    const e = await readDpoDataset(o.evalData, tokenizer, readOpts);
    if (e.pairs.length === 0)
      throw new UsageError(`--eval-data ${o.evalData.join(", ")}: no pair to evaluate on`);
    ctx.note(`held out: ${describeDataset(e, seqLen, o.evalData)}`);
    held = e.pairs;
  } else if (o.evalFraction) {
    const split = splitDocuments(train.length, o.evalFraction, seed);
    held = split.eval.map((i) => data.pairs[i]!);
    train = split.train.map((i) => data.pairs[i]!);
    ctx.note(`held out ${countOf(held.length, "pair")} of them (--eval-fraction ${o.evalFraction})`);
  }
  const padId = tokenizer.padId ?? tokenizer.eosIds[0] ?? 0;

  // The reference: its log-probabilities of both sides of every pair, once.
  const sides = (pairs: EncodedPair[]) => [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  let refTrain: Float32Array = new Float32Array(2 * train.length);
  let refEval: Float32Array = new Float32Array(2 * held.length);
  const refName = o.refFree ? "none" : (o.ref ?? o.model);
  const key = {
    data: `${data.hash}:${train.length}:${held.length}`,
    reference: o.refFree ? "none" : referenceIdentity(await openModelFolder(refName)),
    average: s.averageLogps,
  };
  let cacheWritten = false;
  if (!o.refFree) {
    const cached = o.resume ? await readReferenceCache(o.out, key) : undefined;
    if (cached) {
      refTrain = cached.train;
      refEval = cached.eval;
      cacheWritten = true;
      ctx.note(
        `reference log-probabilities: reused from the run folder (${countOf(train.length + held.length, "pair")})`,
      );
    } else {
      const ref = await loadReference(refName, ctx, o);
      try {
        const total = 2 * (train.length + held.length);
        let reported = 0;
        const started = Date.now();
        const progress = (done: number) => {
          if (done - reported >= total / 10 || done === total) {
            reported = done;
            ctx.note(`reference log-probabilities: ${done}/${total} sequences`);
          }
        };
        const opts = { rows: 2 * batch, seqLen, padId, average: s.averageLogps };
        refTrain = await sequenceLogpsOf(ref, sides(train), { ...opts, onProgress: (d) => progress(d) });
        refEval = await sequenceLogpsOf(ref, sides(held), {
          ...opts,
          onProgress: (d) => progress(2 * train.length + d),
        });
        ctx.note(`reference pass: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } finally {
        await ref.release();
      }
    }
  }

  const batcher = new DpoBatcher(train, seed, seqLen, batch, padId);
  const refFeed = (picked: number[], logps: Float32Array, n: number) =>
    Float32Array.from([...picked.map((i) => logps[i]!), ...picked.map((i) => logps[n + i]!)]);

  const evaluate = async (model: DecoderModel): Promise<EvalResult> => {
    const n = Math.min(held.length, (o.evalBatches ?? RUN_DEFAULTS.evalBatches) * batch);
    const pairs = held.slice(0, n);
    const policy = await sequenceLogpsOf(model, sides(pairs), {
      rows: 2 * batch,
      seqLen,
      padId,
      average: s.averageLogps,
    });
    let loss = 0;
    let acc = 0;
    let rc = 0;
    let rr = 0;
    let lc = 0;
    let lr = 0;
    let likelier = 0;
    for (let i = 0; i < n; i++) {
      const c = policy[i]! - refEval[i]!;
      const r = policy[n + i]! - refEval[held.length + i]!;
      loss += pairLoss(s, c - r);
      acc += c > r ? 1 : 0;
      rc += s.beta * c;
      rr += s.beta * r;
      lc += policy[i]!;
      lr += policy[n + i]!;
      likelier += policy[i]! > policy[n + i]! ? 1 : 0;
    }
    return {
      loss: loss / n,
      "rewards/chosen": rc / n,
      "rewards/rejected": rr / n,
      "rewards/margins": (rc - rr) / n,
      "rewards/accuracies": acc / n,
      "logps/chosen": lc / n,
      "logps/rejected": lr / n,
      // Not TRL's: how often the policy alone finds the chosen response likelier. Unlike the reward
      // accuracy it means something at step 0, where every reward is 0.
      "logps/accuracies": likelier / n,
    };
  };

  return {
    loss: dpoLoss(s),
    fingerprint: { seq_len: seqLen, data: data.hash, loss: s.loss, beta: s.beta, reference: key.reference },
    settings: {
      data: o.data,
      seq_len: seqLen,
      loss: s.loss,
      beta: s.beta,
      label_smoothing: s.labelSmoothing,
      average_logps: s.averageLogps,
      reference: o.refFree ? "none (--ref-free)" : refName,
      template: o.template ?? "the model's own",
      pairs: train.length,
      held_out: held.length,
      dropped_too_long: data.dropped,
      identical_skipped: data.identical,
      truncated: data.truncated,
    },
    nextStep: async () => {
      if (!cacheWritten && !o.refFree) {
        // The run folder exists from the first step on; the cache goes in it for --resume.
        await writeReferenceCache(o.out, key, refTrain, refEval);
        cacheWritten = true;
      }
      return Array.from({ length: microBatches }, () => {
        const picked = batcher.nextPairs();
        const rows = batcher.rows(picked);
        return {
          tokens: rows.tokens,
          feeds: {
            targets: int64Rows(rows.targets),
            loss_weights: {
              dtype: "float32",
              shape: [rows.tokens.length, rows.tokens[0]!.length],
              data: Float32Array.from(rows.weights.flat()),
            },
            [DPO_INPUTS.refLogps]: {
              dtype: "float32",
              shape: [2 * batch],
              data: refFeed(picked, refTrain, train.length),
            },
            // Every micro-batch holds `batch` pairs: the step's mean is each sum ÷ batch, averaged.
            [DPO_INPUTS.pairs]: { dtype: "float32", shape: [], data: Float32Array.of(batch) },
          },
          tokenCount: rows.tokenCount,
        };
      });
    },
    lengths: lengthBuckets(seqLen),
    position: () => batcher.position(),
    restore: (p) => batcher.restore(p),
    evaluate: held.length > 0 ? evaluate : undefined,
    describe: () =>
      `Sequence length ${seqLen}; ${s.loss} loss, beta ${s.beta}${s.labelSmoothing ? `, label smoothing ${s.labelSmoothing}` : ""}; reference ${o.refFree ? "none" : refName}`,
    close: async () => {},
  };
}

/** The frozen reference: another folder (same tokenizer and vocabulary), or the starting model. */
async function loadReference(name: string, ctx: ObjectiveContext, o: DpoOptions): Promise<DecoderModel> {
  if (!o.ref) return DecoderModel.fromParams(ctx.model.decoder, ctx.model.params, { device: o.device });
  const ref = await DecoderModel.load(o.ref, { device: o.device });
  const vocab = ref.decoder.config.vocab_size;
  const policyVocab = ctx.model.decoder.config.vocab_size;
  const refTok = await loadTokenizer(o.ref);
  const probe = "Hello, world! 17 + 26 = 43\n#### 43";
  const same =
    refTok.vocabSize === ctx.tokenizer.vocabSize &&
    refTok.encode(probe, { addSpecialTokens: false }).join() ===
      ctx.tokenizer.encode(probe, { addSpecialTokens: false }).join();
  if (vocab !== policyVocab || !same) {
    await ref.release();
    throw new UsageError(
      `--ref ${name}: its vocabulary (${vocab} rows, tokenizer of ${refTok.vocabSize} tokens) differs from the policy's (${policyVocab}, ${ctx.tokenizer.vocabSize}); the reference must share the policy's tokenizer`,
    );
  }
  return ref;
}

function describeDataset(d: DpoDataset, seqLen: number, paths: readonly string[]): string {
  const shapes = Object.entries(d.formats)
    .map(([f, n]) => `${f} (${countOf(n, "file")})`)
    .join(", ");
  const parts = [`${countOf(d.pairs.length, "pair")} from ${paths.join(", ")}: ${shapes || "no records"}`];
  if (d.identical) parts.push(`${d.identical} with chosen identical to rejected skipped`);
  if (d.dropped)
    parts.push(`${d.dropped} dropped (a side longer than --seq-len ${seqLen}; --truncate cuts them)`);
  if (d.truncated) parts.push(`${d.truncated} cut to ${seqLen} tokens`);
  if (d.skipped) parts.push(`${d.skipped} bad records skipped`);
  return parts.join("; ");
}
