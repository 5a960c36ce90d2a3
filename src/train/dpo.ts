// `deepen train dpo`: preference alignment (step 4 of the SOLAR recipe) as an objective of the run
// scaffold. Its data is preference pairs rendered with the chat template as SFT renders them; each
// micro-batch runs both sides of its pairs side by side; its loss is DPO or a variant on the
// policy's and a frozen reference's sequence log-probabilities of the responses, the reference's
// computed once before training and kept in the run folder for --resume.
import { countOf } from "../formatCount.js";
import type { PreferenceFormat } from "../data/instruct/preference.js";
import { UsageError } from "../errors.js";
import { DecoderModel } from "../nn/decoderModel.js";
import { builtinTemplate } from "../tokenizer/builtinTemplates.js";
import { loadTokenizer } from "../tokenizer/loadTokenizer.js";
import { checkSameTokenizer } from "../tokenizer/sameTokenizer.js";
import { stageChatTokenizer } from "../tokenizer/stageChatTokenizer.js";
import { DPO_DEFAULTS, RUN_DEFAULTS } from "./defaults.js";
import { DpoBatcher } from "./dpo/dpoBatcher.js";
import { lengthBuckets } from "./sft/sftBatcher.js";
import { readDpoDataset, type DpoDataset, type EncodedPair } from "./dpo/dpoData.js";
import {
  DPO_LOSSES,
  dpoLoss,
  dpoStepBatch,
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
import { type ChatRunOptions, splitHeldOut, templateHint } from "./chatRun.js";
import { runTraining, type RunResult } from "./run.js";
import { type ModelFolder, openModelFolder } from "../checkpoint/modelFolder.js";
import type { EvalResult } from "./loop.js";

export interface DpoOptions extends ChatRunOptions {
  format?: PreferenceFormat;
  loss?: DpoLossKind;
  beta?: number;
  labelSmoothing?: number;
  /** RPO: the weight of the chosen responses' NLL added to the loss (default 0). */
  rpoAlpha?: number;
  averageLogps?: boolean;
  /** The reference model (default: the starting model, frozen). */
  ref?: string;
  /** No reference: its log-probabilities are taken as 0. */
  refFree?: boolean;
}

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
  const rpoAlpha = o.rpoAlpha ?? 0;
  if (!(rpoAlpha >= 0 && Number.isFinite(rpoAlpha)))
    throw new UsageError(`--rpo-alpha ${rpoAlpha}: must be a finite number >= 0`);
  return { loss, beta, labelSmoothing, averageLogps: !!o.averageLogps || loss === "ipo", rpoAlpha };
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
    adaptModel: async (base, tokenizer): Promise<AdaptedModel | undefined> => {
      if (!format) return undefined;
      const staged = await stageChatTokenizer(tokenizer.dir, tokenizer, {
        format,
        addTokens: false,
        missingHint: `fine-tune with train sft --template ${format.name} --add-chat-tokens first, which adds them`,
      });
      return {
        model: base,
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
  const { train, held } = await splitHeldOut(
    data.pairs,
    o,
    seed,
    "pair",
    async (paths) => {
      const e = await readDpoDataset(paths, tokenizer, readOpts);
      if (e.pairs.length > 0) ctx.note(`held out: ${describeDataset(e, seqLen, paths)}`);
      return e.pairs;
    },
    ctx.note,
  );
  const padId = tokenizer.padId ?? tokenizer.eosIds[0] ?? 0;

  // The reference: its log-probabilities of both sides of every pair, once.
  const sides = (pairs: EncodedPair[]) => [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  let refTrain: Float32Array = new Float32Array(2 * train.length);
  let refEval: Float32Array = new Float32Array(2 * held.length);
  const refName = o.refFree ? "none" : (o.ref ?? o.model);
  // The starting model's folder is open already; another reference is opened (not loaded) here.
  const refFolder = o.refFree ? undefined : o.ref ? await openModelFolder(o.ref) : ctx.model.folder;
  const key = {
    data: `${data.hash}:${train.length}:${held.length}`,
    reference: refFolder ? referenceIdentity(refFolder) : "none",
    average: s.averageLogps,
  };
  let cacheWritten = false;
  if (!o.refFree) {
    const cached = o.resume
      ? await readReferenceCache(o.out, key, { train: 2 * train.length, eval: 2 * held.length })
      : undefined;
    if (cached) {
      refTrain = cached.train;
      refEval = cached.eval;
      cacheWritten = true;
      ctx.note(
        `reference log-probabilities: reused from the run folder (${countOf(train.length + held.length, "pair")})`,
      );
    } else {
      const ref = await loadReference(refFolder!, ctx, o);
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
    // RPO's term as in training: the chosen responses' NLL per token, here over every held-out pair.
    let nllSum = 0;
    let nllTokens = 0;
    if (s.rpoAlpha > 0)
      for (let i = 0; i < n; i++) {
        const tokens = pairs[i]!.chosen.trained.reduce((a, t) => a + t, 0);
        nllSum -= s.averageLogps ? policy[i]! * tokens : policy[i]!;
        nllTokens += tokens;
      }
    const nll: Record<string, number> = s.rpoAlpha > 0 ? { nll_loss: nllSum / nllTokens } : {};
    return {
      loss: loss / n + (s.rpoAlpha > 0 ? s.rpoAlpha * (nllSum / nllTokens) : 0),
      ...nll,
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
    fingerprint: {
      seq_len: seqLen,
      data: data.hash,
      loss: s.loss,
      beta: s.beta,
      rpo_alpha: s.rpoAlpha,
      reference: key.reference,
    },
    settings: {
      data: o.data,
      seq_len: seqLen,
      loss: s.loss,
      beta: s.beta,
      label_smoothing: s.labelSmoothing,
      rpo_alpha: s.rpoAlpha,
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
        return dpoStepBatch(batcher.rows(picked), refFeed(picked, refTrain, train.length));
      });
    },
    lengths: lengthBuckets(seqLen),
    position: () => batcher.position(),
    restore: (p) => batcher.restore(p),
    evaluate: held.length > 0 ? evaluate : undefined,
    describe: () =>
      `Sequence length ${seqLen}; ${s.loss} loss, beta ${s.beta}${s.labelSmoothing ? `, label smoothing ${s.labelSmoothing}` : ""}${s.rpoAlpha ? `, RPO alpha ${s.rpoAlpha}` : ""}; reference ${o.refFree ? "none" : refName}`,
    close: async () => {},
  };
}

/**
 * The frozen reference: the starting model, or another folder, whose vocabulary and tokenizer are
 * checked against the policy's before any of its weights are read.
 */
async function loadReference(
  folder: ModelFolder,
  ctx: ObjectiveContext,
  o: DpoOptions,
): Promise<DecoderModel> {
  if (!o.ref) return DecoderModel.fromParams(ctx.model.decoder, ctx.model.params, { device: o.device });
  checkSameTokenizer(
    `--ref ${o.ref}`,
    { folder: ctx.model.folder, tokenizer: ctx.tokenizer },
    { folder, tokenizer: await loadTokenizer(folder.dir) },
  );
  return DecoderModel.load(folder.dir, { device: o.device });
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
