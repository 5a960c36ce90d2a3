// `deepen train pretrain`: continued pretraining (step 2 of the SOLAR recipe) on the engine, with
// packing, AdamW, schedules, evaluation, atomic checkpoints and exact resume.
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, totalmem } from "node:os";
import { join } from "node:path";
import { checkOutputTarget } from "../checkpoint/atomicOutput.js";
import { type TokenizedCorpus, tokenizeCorpus } from "../data/tokenCache.js";
import { PackedSequences, shuffledOrder, splitDocuments } from "../data/packing.js";
import { OutputError, UsageError } from "../errors.js";
import { DecoderModel } from "../nn/decoderModel.js";
import { loadWeights } from "../nn/loadParams.js";
import type { Device } from "../runtime/session.js";
import { type Lineage, readLineage } from "../checkpoint/lineage.js";
import { VERSION } from "../version.js";
import { loadTokenizer } from "../tokenizer/loadTokenizer.js";
import { type Batch, EngineStep } from "./engineStep.js";
import { runTrainingLoop, type StepRecord } from "./loop.js";
import { largestBatch, trainingBytes } from "./memoryEstimate.js";
import { checkSchedule, learningRate, type Schedule, type ScheduleKind } from "./schedule.js";
import { decaysExceptEmbeddings } from "./stepGraphs.js";
import {
  checkpointName,
  listCheckpoints,
  pruneCheckpoints,
  readOptimizerState,
  readTrainerState,
  type RunFingerprint,
  saveCheckpoint,
  TRAINER_STATE_FORMAT,
  type TrainerState,
} from "./trainCheckpoint.js";
import { resolveTrainable } from "./trainableParams.js";

export const FINAL_DIR = "final";
export const METRICS_FILE = "metrics.jsonl";

export interface PretrainOptions {
  model: string;
  data: string[];
  out: string;
  seqLen: number;
  batch: number;
  gradAccum?: number;
  lr: number;
  minLr?: number;
  warmup?: number;
  schedule?: ScheduleKind;
  maxSteps?: number;
  maxTokens?: number;
  evalData?: string[];
  evalFraction?: number;
  evalEvery?: number;
  /** Eval batches per evaluation (default: the whole held-out set, at most 64 batches). */
  evalBatches?: number;
  /** Evaluate the starting model too (a fresh run only), logged as step 0 in metrics.jsonl: where
   * the curve starts, which is the point of a healing run. */
  evalAtStart?: boolean;
  /** Called with the step-0 evaluation of evalAtStart. */
  onStartEval?: (e: { loss: number; perplexity: number }) => void;
  saveEvery?: number;
  keepLast?: number;
  seed?: number;
  textField?: string;
  trainLayers?: string;
  freezeEmbeddings?: boolean;
  /** true: the newest checkpoint in `out`; a string: that checkpoint folder. */
  resume?: boolean | string;
  skipNonFinite?: boolean;
  force?: boolean;
  clipNorm?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  device?: Device;
  cacheDir?: string;
  /** Memory the run may plan for (default 85 % of this machine's). */
  memoryBudget?: number;
  command?: string;
  onLog?: (r: StepRecord) => void;
  /** Called once before the first step with the run's length and where it starts. */
  onStart?: (info: { totalSteps: number; startStep: number }) => void;
  onNote?: (message: string) => void;
  interrupted?: () => boolean;
}

export interface PretrainResult {
  steps: number;
  tokensSeen: number;
  skipped: number;
  interrupted: boolean;
  checkpoint?: string;
  lastEval?: { loss: number; perplexity: number };
  firstLoss?: number;
  lastLoss?: number;
}

export function defaultCacheDir(): string {
  return process.env.DEEPEN_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "deepen");
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

/** The checkpoint to resume from: the named one, or the newest (by step) in `out`. */
async function resumePoint(out: string, resume: boolean | string): Promise<string> {
  if (typeof resume === "string") {
    await readTrainerState(resume);
    return resume;
  }
  const candidates = [...listCheckpoints(out)];
  if (existsSync(join(out, FINAL_DIR, "trainer_state.json"))) candidates.push(join(out, FINAL_DIR));
  if (candidates.length === 0) throw new UsageError(`--resume: ${out} has no checkpoint to resume from`);
  let best = candidates[0]!;
  let bestStep = -1;
  for (const c of candidates) {
    const s = (await readTrainerState(c)).step;
    if (s > bestStep) [best, bestStep] = [c, s];
  }
  return best;
}

/** Clears or refuses an existing --out (checkOutputTarget ran first), then proves it writable. */
async function prepareOutput(o: PretrainOptions): Promise<void> {
  if (existsSync(o.out) && !o.resume) {
    const entries = readdirSync(o.out);
    if (entries.length > 0) {
      if (o.force) await rm(o.out, { recursive: true, force: true });
      else if (existsSync(join(o.out, FINAL_DIR))) {
        throw new OutputError(`${o.out} holds a finished run; --force replaces it, --resume continues it`);
      } else if (listCheckpoints(o.out).length > 0) {
        throw new OutputError(
          `${o.out} holds checkpoints of an unfinished run; --resume continues it, --force starts over`,
        );
      } else throw new OutputError(`output ${o.out} exists; pass --force to replace it`);
    }
  }
  try {
    await mkdir(o.out, { recursive: true });
    await writeFile(join(o.out, ".deepen-write-test"), "");
    await rm(join(o.out, ".deepen-write-test"));
  } catch (e) {
    throw new OutputError(`cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

function checkSeqLen(o: PretrainOptions, config: Record<string, unknown>, note: (m: string) => void) {
  const maxPos = config.max_position_embeddings as number | undefined;
  if (maxPos === undefined || o.seqLen <= maxPos) return;
  const rs = config.rope_scaling as { rope_type?: string; type?: string; factor?: number } | null | undefined;
  const factor = rs?.factor ?? 1;
  if (rs && o.seqLen <= maxPos * factor) {
    note(
      `--seq-len ${o.seqLen} is past the model's ${maxPos} positions; its rope_scaling (${rs.rope_type ?? rs.type}, factor ${factor}) covers ${maxPos * factor}`,
    );
    return;
  }
  throw new UsageError(
    `--seq-len ${o.seqLen}: longer than the model's ${maxPos} positions` +
      (rs ? ` and its rope_scaling factor ${factor} (${maxPos * factor})` : " (no rope_scaling extends it)"),
  );
}

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const note = o.onNote ?? (() => {});
  const accum = o.gradAccum ?? 1;
  const seed = o.seed ?? 0;
  for (const [k, v] of [
    ["--seq-len", o.seqLen],
    ["--batch", o.batch],
    ["--grad-accum", accum],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${k} ${v}: must be a positive integer`);
  }
  if (o.data.length === 0) throw new UsageError("--data: name at least one file or folder");
  if (o.evalData && o.evalFraction) throw new UsageError("give --eval-data or --eval-fraction, not both");
  if (o.evalFraction !== undefined && !(o.evalFraction > 0 && o.evalFraction < 1)) {
    throw new UsageError(`--eval-fraction ${o.evalFraction}: must be between 0 and 1`);
  }
  if (o.clipNorm !== undefined && !(o.clipNorm >= 0))
    throw new UsageError(`--clip ${o.clipNorm}: must be >= 0 (0 turns clipping off)`);
  // Everything that can be checked without the data is checked before the output is touched.
  checkOutputTarget(o.out, { force: true, inputs: [o.model, ...o.data, ...(o.evalData ?? [])] });
  const tokensPerStep = o.batch * o.seqLen * accum;
  const totalSteps =
    o.maxSteps ?? (o.maxTokens !== undefined ? Math.ceil(o.maxTokens / tokensPerStep) : undefined);
  if (!totalSteps || totalSteps < 1)
    throw new UsageError("say how long to train: --max-steps N or --max-tokens N");
  const schedule: Schedule = {
    kind: o.schedule ?? "cosine",
    lr: o.lr,
    minLr: o.minLr ?? o.lr / 10,
    warmup: o.warmup ?? 0,
    totalSteps,
  };
  checkSchedule(schedule);

  const tokenizer = await loadTokenizer(o.model);
  const base = await loadWeights(o.model);
  checkSeqLen(o, base.folder.config, note);

  // What trains, and whether it fits.
  const lineage = await readLineage(base.folder.dir);
  const trainable = resolveTrainable([...base.params.keys()], base.decoder, {
    trainLayers: o.trainLayers,
    freezeEmbeddings: o.freezeEmbeddings,
    newLayers: lineage?.new_layers,
  });
  const count = (names: Iterable<string>) =>
    [...names].reduce((a, n) => a + base.params.get(n)!.data.length, 0);
  const nParams = count(base.params.keys());
  const nTrain = count(trainable);
  const budget = o.memoryBudget ?? totalmem() * 0.85;
  const need = trainingBytes(base.decoder, nParams, nTrain, o.batch, o.seqLen);
  if (need > budget) {
    const fits = largestBatch(base.decoder, nParams, nTrain, o.seqLen, budget);
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    throw new UsageError(
      `--batch ${o.batch} x --seq-len ${o.seqLen} needs about ${gib(need)} GiB, more than the ${gib(budget)} GiB available; ` +
        (fits > 0
          ? `--batch ${fits} fits (raise --grad-accum to keep the tokens per step)`
          : "shorten --seq-len"),
    );
  }

  // Data: the token cache is shared by runs with the same tokenizer and inputs.
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const train = await tokenizeCorpus(o.data, tokenizer, { cacheDir, textField: o.textField });
  note(
    `${train.reused ? "reusing" : "tokenized"} ${train.corpus.totalTokens} tokens in ${train.corpus.documents} documents`,
  );
  let trainDocs = [...Array(train.corpus.documents).keys()];
  let evalCorpus: TokenizedCorpus | undefined;
  let evalDocs: number[] = [];
  if (o.evalData) {
    evalCorpus = (await tokenizeCorpus(o.evalData, tokenizer, { cacheDir, textField: o.textField })).corpus;
    evalDocs = [...Array(evalCorpus.documents).keys()];
  } else if (o.evalFraction) {
    const split = splitDocuments(train.corpus.documents, o.evalFraction, seed);
    trainDocs = split.train;
    evalDocs = split.eval;
    evalCorpus = train.corpus;
  }
  const sequences = new PackedSequences(train.corpus, trainDocs, o.seqLen);
  if (sequences.count < o.batch) {
    throw new UsageError(
      `the corpus packs into ${sequences.count} sequences of ${o.seqLen} tokens; --batch ${o.batch} needs at least as many`,
    );
  }
  const evalSeqs = evalCorpus ? new PackedSequences(evalCorpus, evalDocs, o.seqLen) : undefined;

  // Only now, with every input checked, may an existing run be replaced (--force).
  await prepareOutput(o);
  const resumeFrom = o.resume ? await resumePoint(o.out, o.resume) : undefined;

  const fingerprint: RunFingerprint = {
    base_config: sha(JSON.stringify(base.folder.config)),
    seq_len: o.seqLen,
    batch: o.batch,
    grad_accum: accum,
    trainable: sha(trainable.join("\n")),
    data: sha(train.corpus.key + (o.evalFraction ?? "")),
    seed,
  };

  // Starting point: the base model, or a checkpoint of this same run.
  let params = base.params;
  let state: TrainerState | undefined;
  if (resumeFrom) {
    state = await readTrainerState(resumeFrom);
    for (const [k, v] of Object.entries(fingerprint) as [keyof RunFingerprint, unknown][]) {
      if (state.fingerprint[k] !== v) {
        const what =
          { base_config: "base model", data: "training data", trainable: "trained parameters" }[
            k as string
          ] ?? k;
        throw new UsageError(
          `--resume ${resumeFrom}: that run used a different ${what} (${state.fingerprint[k]} vs ${v})`,
        );
      }
    }
    params = (await loadWeights(resumeFrom)).params;
    note(`resuming from ${resumeFrom} at step ${state.step}`);
  }
  const engine = await EngineStep.create(base.decoder, params, o.batch, o.seqLen, {
    trainable,
    microBatches: accum,
    clipNorm: o.clipNorm ?? 1,
    adamw: {
      weightDecay: o.weightDecay ?? 0.1,
      beta1: o.beta1 ?? 0.9,
      beta2: o.beta2 ?? 0.95,
      eps: o.eps ?? 1e-8,
    },
    decay: decaysExceptEmbeddings,
    device: o.device,
  });
  if (resumeFrom && state) engine.restore(await readOptimizerState(resumeFrom, state.step));

  // Data position: the epoch and the index into that epoch's shuffled order.
  let epoch = state?.epoch ?? 0;
  let cursor = state?.cursor ?? 0;
  let order = shuffledOrder(sequences.count, seed, epoch);
  const toBatch = (seqs: Uint32Array[]): Batch => ({
    tokens: seqs.map((s) => Array.from(s.subarray(0, o.seqLen))),
    targets: seqs.map((s) => Array.from(s.subarray(1, o.seqLen + 1))),
  });
  const nextMicroBatches = async (): Promise<Batch[]> => {
    const micro: Batch[] = [];
    for (let k = 0; k < accum; k++) {
      if (cursor + o.batch > sequences.count) {
        epoch++;
        cursor = 0;
        order = shuffledOrder(sequences.count, seed, epoch);
      }
      const seqs: Uint32Array[] = [];
      for (let b = 0; b < o.batch; b++) seqs.push(await sequences.get(order[cursor + b]!));
      cursor += o.batch;
      micro.push(toBatch(seqs));
    }
    return micro;
  };

  const evalModel = evalSeqs
    ? DecoderModel.fromParams(base.decoder, engine.params, { device: o.device })
    : undefined;
  const evaluate = async () => {
    const n = Math.min(evalSeqs!.count, (o.evalBatches ?? 64) * o.batch);
    if (n === 0) throw new UsageError(`the held-out text packs into no sequence of ${o.seqLen} tokens`);
    let total = 0;
    let tokens = 0;
    for (let i = 0; i < n; i += o.batch) {
      // The last batch is filled up by repeating its last sequence; only real sequences count.
      const idx = Array.from({ length: o.batch }, (_, b) => Math.min(i + b, n - 1));
      const batch = toBatch(await Promise.all(idx.map((j) => evalSeqs!.get(j))));
      const nll = await evalModel!.nll(batch.tokens, batch.targets);
      const real = Math.min(o.batch, n - i);
      for (let k = 0; k < real * o.seqLen; k++) total += nll[k]!;
      tokens += real * o.seqLen;
    }
    const loss = total / tokens;
    return { loss, perplexity: Math.exp(loss) };
  };

  const metrics = join(o.out, METRICS_FILE);
  if (state && existsSync(metrics)) {
    // Steps logged after the checkpoint we resume from will be run again: drop their lines.
    const kept = (await readFile(metrics, "utf8"))
      .split("\n")
      .filter((l) => l.trim() && (JSON.parse(l) as StepRecord).step <= state!.step);
    await writeFile(metrics, kept.map((l) => l + "\n").join(""));
  }
  const settings = {
    model: base.folder.dir,
    data: o.data,
    seq_len: o.seqLen,
    batch: o.batch,
    grad_accum: accum,
    schedule,
    clip_norm: o.clipNorm ?? 1,
    weight_decay: o.weightDecay ?? 0.1,
    seed,
    trainable:
      trainable.length === base.params.size ? "all" : `${trainable.length} of ${base.params.size} tensors`,
    command: o.command,
  };
  let lastEval = state?.last_eval;
  let firstLoss: number | undefined;
  let lastLoss: number | undefined;
  const baseCard = existsSync(join(base.folder.dir, "README.md"))
    ? await readFile(join(base.folder.dir, "README.md"), "utf8")
    : "";
  const save = async (step: number, tokensSeen: number, finished: boolean, skipped: number) => {
    const dir = join(o.out, finished ? FINAL_DIR : checkpointName(step));
    const st: TrainerState = {
      format: TRAINER_STATE_FORMAT,
      step,
      tokens_seen: tokensSeen,
      epoch,
      cursor,
      skipped_nonfinite: skipped,
      finished,
      fingerprint,
      last_eval: lastEval,
      settings,
    };
    const training = {
      method: "pretrain",
      steps: step,
      tokens: tokensSeen,
      settings,
      last_eval: lastEval ?? null,
    };
    // A base that deepen did not make gets a lineage of its own, so every checkpoint has a complete one.
    const layers = base.decoder.config.num_hidden_layers;
    const from: Lineage = lineage ?? {
      deepen_version: VERSION,
      method: "base",
      recipe: {},
      sources: [
        {
          name: base.folder.name,
          path: base.folder.dir,
          architecture: base.decoder.family.architectures[0]!,
          layers,
        },
      ],
      layer_map: Array.from({ length: layers }, (_, layer) => ({ model: 0, layer })),
      new_layers: [],
      parameters: nParams,
      parents: [],
    };
    const lin: Lineage = { ...from, training: [...(from.training ?? []), training] };
    await saveCheckpoint(dir, {
      sourceDir: base.folder.dir,
      config: base.folder.config,
      params: engine.params,
      optimizer: engine.optimizerState(),
      state: st,
      card: trainingCard(baseCard, base.folder.name, st, o.command),
      lineage: lin,
    });
    if (!finished && o.keepLast) await pruneCheckpoints(o.out, o.keepLast);
    return dir;
  };

  let skippedCount = state?.skipped_nonfinite ?? 0;
  o.onStart?.({ totalSteps, startStep: state?.step ?? 0 });
  try {
    if (o.evalAtStart && !state && evalSeqs) {
      lastEval = await evaluate();
      const rec = { step: 0, tokens: 0, eval_loss: lastEval.loss, eval_perplexity: lastEval.perplexity };
      appendFileSync(metrics, JSON.stringify(rec) + "\n");
      o.onStartEval?.(lastEval);
    }
    const r = await runTrainingLoop({
      startStep: state?.step ?? 0,
      totalSteps,
      tokensSeen: state?.tokens_seen ?? 0,
      tokensPerStep,
      nextMicroBatches,
      step: (micro, lr) => engine.run(micro, lr),
      learningRate: (s) => learningRate(schedule, s),
      evalEvery: evalSeqs ? (o.evalEvery ?? Math.max(1, Math.floor(totalSteps / 10))) : undefined,
      evaluate: evalSeqs
        ? async () => {
            lastEval = await evaluate();
            return lastEval;
          }
        : undefined,
      saveEvery: o.saveEvery,
      save: (step, tokens, finished) => save(step, tokens, finished, skippedCount),
      skipNonFinite: !!o.skipNonFinite,
      skipped: skippedCount,
      onSkip: (s) => {
        skippedCount++;
        note(`step ${s}: non-finite loss or gradient, batch skipped (${skippedCount} so far)`);
      },
      log: (rec) => {
        firstLoss ??= rec.loss;
        lastLoss = rec.loss;
        appendFileSync(metrics, JSON.stringify(rec) + "\n"); // in order, and on disk before the next step
        o.onLog?.(rec);
      },
      interrupted: o.interrupted ?? (() => false),
      lastCheckpoint: resumeFrom,
    });
    return {
      steps: r.steps,
      tokensSeen: r.tokensSeen,
      skipped: r.skipped,
      interrupted: r.interrupted,
      checkpoint: r.lastCheckpoint,
      lastEval: r.lastEval ?? lastEval,
      firstLoss,
      lastLoss,
    };
  } finally {
    await engine.release();
    await evalModel?.release();
    await train.corpus.close();
    if (evalCorpus && evalCorpus !== train.corpus) await evalCorpus.close();
  }
}

function trainingCard(baseCard: string, name: string, s: TrainerState, command?: string): string {
  const lines = [
    baseCard.trimEnd() || `# ${name}`,
    "",
    "## Continued pretraining (deepen)",
    "",
    `- Steps: ${s.step}${s.finished ? " (finished)" : ""}, tokens seen: ${s.tokens_seen}`,
    `- Sequence length ${s.fingerprint.seq_len}, batch ${s.fingerprint.batch} x ${s.fingerprint.grad_accum} accumulation steps, seed ${s.fingerprint.seed}`,
  ];
  if (s.last_eval)
    lines.push(
      `- Held-out loss ${s.last_eval.loss.toFixed(4)}, perplexity ${s.last_eval.perplexity.toFixed(3)}`,
    );
  if (s.skipped_nonfinite) lines.push(`- Batches skipped for non-finite values: ${s.skipped_nonfinite}`);
  if (command) lines.push("", "```", command, "```");
  lines.push("");
  return lines.join("\n");
}
