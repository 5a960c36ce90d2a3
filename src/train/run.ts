// The training run every objective shares: option checks, the output folder and --force, resume
// (fingerprint, newest or named checkpoint, exact data position), the loop, evaluation cadence,
// metrics.jsonl, checkpoints and --keep-last, Ctrl-C, non-finite steps, lineage and card. What is
// trained for (data, batching, loss, evaluation) comes from an objective (objective.ts).
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { totalmem } from "node:os";
import { join } from "node:path";
import { checkOutsideInputs, checkReplaceable } from "../checkpoint/atomicOutput.js";
import { UsageError } from "../errors.js";
import { DecoderModel } from "../nn/decoderModel.js";
import { type LoadedWeights, loadWeights } from "../nn/loadParams.js";
import type { Device } from "../runtime/session.js";
import { type Lineage, readLineage } from "../checkpoint/lineage.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/loadTokenizer.js";
import { VERSION } from "../version.js";
import { ADAMW_DEFAULTS, RUN_DEFAULTS } from "./defaults.js";
import { EngineStep } from "./engineStep.js";
import { type EvalResult, runTrainingLoop, type StepRecord } from "./loop.js";
import { largestBatch, trainingBytes } from "./memoryEstimate.js";
import type { Objective, ObjectiveSpec } from "./objective.js";
import { appendMetrics, trimMetrics } from "./metricsLog.js";
import { FINAL_DIR, METRICS_FILE, prepareRunFolder, resumePoint } from "./runFolder.js";
import { checkSchedule, learningRate, type Schedule, type ScheduleKind } from "./schedule.js";
import { decaysExceptEmbeddings } from "./stepGraphs.js";
import {
  checkpointName,
  pruneCheckpoints,
  readOptimizerState,
  readTrainerState,
  type RunFingerprint,
  saveCheckpoint,
  TRAINER_STATE_FORMAT,
  type TrainerState,
} from "./trainCheckpoint.js";
import { trainingCard } from "./trainingCard.js";
import { resolveTrainable } from "./trainableParams.js";

/** The options every objective's run takes; defaults in defaults.ts. */
export interface RunOptions {
  model: string;
  out: string;
  /** Examples per micro-batch. */
  batch?: number;
  gradAccum?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  schedule?: ScheduleKind;
  maxSteps?: number;
  maxTokens?: number;
  evalEvery?: number;
  /** Evaluate the starting model too (a fresh run only), logged as step 0 in metrics.jsonl: where
   * the curve starts, which is the point of a healing run. */
  evalAtStart?: boolean;
  /** Called with the step-0 evaluation of evalAtStart. */
  onStartEval?: (e: EvalResult) => void;
  saveEvery?: number;
  keepLast?: number;
  seed?: number;
  trainLayers?: string;
  freezeEmbeddings?: boolean;
  /** true: the newest checkpoint in `out`; a string: that checkpoint folder. */
  resume?: boolean | string;
  /** Resume with a learning-rate schedule (rate, warmup, kind, length) other than the run's. */
  overrideSchedule?: boolean;
  skipNonFinite?: boolean;
  force?: boolean;
  clipNorm?: number;
  /** Recompute each layer's activations in the backward pass (less memory, about a sixth more time). */
  recompute?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  device?: Device;
  /** Memory the run may plan for (default 85 % of this machine's). */
  memoryBudget?: number;
  command?: string;
  onLog?: (r: StepRecord) => void;
  /** Called once before the first step with the run's length and where it starts. */
  onStart?: (info: { totalSteps: number; startStep: number }) => void;
  onNote?: (message: string) => void;
  interrupted?: () => boolean;
}

export interface RunResult {
  /** The step the run started from (0, or the checkpoint it resumed). */
  startStep: number;
  steps: number;
  tokensSeen: number;
  skipped: number;
  interrupted: boolean;
  checkpoint?: string;
  lastEval?: EvalResult;
  /** The held-out measures when this run started (step 0, or the checkpoint's), if any were taken. */
  startEval?: EvalResult;
  firstLoss?: number;
  lastLoss?: number;
  /** Mean training loss over this run's first and last (up to) SUMMARY_STEPS steps. */
  trainLossStart?: number;
  trainLossEnd?: number;
}

/** Steps the end-of-run summary averages training losses over: one batch's loss is noise. */
export const SUMMARY_STEPS = 10;

const rate = (x: number) => String(Number(x.toPrecision(6)));
const describeSchedule = (s: Schedule) =>
  `${s.kind} ${rate(s.lr)} -> ${rate(s.minLr)}, warmup ${s.warmup}, ${s.totalSteps} steps`;

/** Whether two schedules give the same rate at every step. */
const sameSchedule = (a: Schedule, b: Schedule) =>
  a.kind === b.kind &&
  a.lr === b.lr &&
  a.minLr === b.minLr &&
  a.warmup === b.warmup &&
  a.totalSteps === b.totalSteps;

const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

function checkSeqLen(seqLen: number, config: Record<string, unknown>, note: (m: string) => void) {
  const maxPos = config.max_position_embeddings as number | undefined;
  if (maxPos === undefined || seqLen <= maxPos) return;
  const rs = config.rope_scaling as { rope_type?: string; type?: string; factor?: number } | null | undefined;
  const factor = rs?.factor ?? 1;
  if (rs && seqLen <= maxPos * factor) {
    note(
      `--seq-len ${seqLen} is past the model's ${maxPos} positions; its rope_scaling (${rs.rope_type ?? rs.type}, factor ${factor}) covers ${maxPos * factor}`,
    );
    return;
  }
  throw new UsageError(
    `--seq-len ${seqLen}: longer than the model's ${maxPos} positions` +
      (rs ? ` and its rope_scaling factor ${factor} (${maxPos * factor})` : " (no rope_scaling extends it)"),
  );
}

/** Refuses a batch that would not fit in memory, naming one that would. */
function checkMemory(
  base: LoadedWeights,
  trainable: string[],
  batch: number,
  rowsPerExample: number,
  seqLen: number,
  budget: number,
  recompute: boolean,
) {
  const rows = batch * rowsPerExample;
  const count = (names: Iterable<string>) =>
    [...names].reduce((a, n) => a + base.params.get(n)!.data.length, 0);
  const nParams = count(base.params.keys());
  const nTrain = count(trainable);
  const need = trainingBytes(base.decoder, nParams, nTrain, rows, seqLen, recompute);
  if (need <= budget) return nParams;
  const fits = Math.floor(
    largestBatch(base.decoder, nParams, nTrain, seqLen, budget, recompute) / rowsPerExample,
  );
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  throw new UsageError(
    `--batch ${batch} x --seq-len ${seqLen} needs about ${gib(need)} GiB, more than the ${gib(budget)} GiB available; ` +
      (fits > 0
        ? `--batch ${fits} fits (raise --grad-accum to keep the tokens per step)`
        : "shorten --seq-len") +
      (recompute ? "" : ", or add --recompute"),
  );
}

/** A base that deepen did not make gets a lineage of its own, so every checkpoint has a complete one. */
function baseLineage(base: LoadedWeights, parameters: number): Lineage {
  const layers = base.decoder.config.num_hidden_layers;
  return {
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
    parameters,
    parents: [],
  };
}

/** The run's options with their defaults. */
function runSettings(o: RunOptions) {
  return {
    batch: o.batch ?? RUN_DEFAULTS.batch,
    accum: o.gradAccum ?? RUN_DEFAULTS.gradAccum,
    seed: o.seed ?? RUN_DEFAULTS.seed,
    clipNorm: o.clipNorm ?? RUN_DEFAULTS.clipNorm,
    adamw: {
      weightDecay: o.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
      beta1: o.beta1 ?? ADAMW_DEFAULTS.beta1,
      beta2: o.beta2 ?? ADAMW_DEFAULTS.beta2,
      eps: o.eps ?? ADAMW_DEFAULTS.eps,
    },
  };
}

/** Trains `o.model` for `spec`'s objective into the run folder `o.out`. */
export async function runTraining(o: RunOptions, spec: ObjectiveSpec): Promise<RunResult> {
  const note = o.onNote ?? (() => {});
  const { batch, accum, clipNorm } = runSettings(o);
  const lr = o.lr ?? RUN_DEFAULTS.lr;
  for (const [k, v] of [
    ["--seq-len", spec.seqLen],
    ["--batch", batch],
    ["--grad-accum", accum],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${k} ${v}: must be a positive integer`);
  }
  if (!(clipNorm >= 0)) throw new UsageError(`--clip ${clipNorm}: must be >= 0 (0 turns clipping off)`);
  // Everything that can be checked without the data is checked before the output is touched.
  checkOutsideInputs(o.out, [o.model, ...spec.inputs]);
  if (existsSync(o.out)) checkReplaceable(o.out);
  const tokensPerStep = batch * spec.seqLen * accum;
  const totalSteps =
    o.maxSteps ?? (o.maxTokens !== undefined ? Math.ceil(o.maxTokens / tokensPerStep) : undefined);
  if (!totalSteps || totalSteps < 1)
    throw new UsageError("say how long to train: --max-steps N or --max-tokens N");
  const schedule: Schedule = {
    kind: o.schedule ?? RUN_DEFAULTS.schedule,
    lr,
    minLr: o.minLr ?? lr / RUN_DEFAULTS.minLrDivisor,
    warmup: o.warmup ?? RUN_DEFAULTS.warmup,
    totalSteps,
  };
  checkSchedule(schedule);

  const baseTokenizer = await loadTokenizer(o.model);
  const loaded = await loadWeights(o.model);
  checkSeqLen(spec.seqLen, loaded.folder.config, note);
  const adapted = await spec.adaptModel?.(loaded, baseTokenizer, note);
  try {
    return await train(o, spec, adapted?.model ?? loaded, adapted?.tokenizer ?? baseTokenizer, {
      schedule,
      totalSteps,
      filesFrom: adapted?.filesFrom ?? loaded.folder.dir,
      fingerprint: adapted?.fingerprint ?? {},
    });
  } finally {
    await adapted?.close();
  }
}

async function train(
  o: RunOptions,
  spec: ObjectiveSpec,
  base: LoadedWeights,
  tokenizer: Tokenizer,
  run: {
    schedule: Schedule;
    totalSteps: number;
    filesFrom: string;
    fingerprint: Record<string, string | number>;
  },
): Promise<RunResult> {
  const { schedule, totalSteps } = run;
  const note = o.onNote ?? (() => {});
  const { batch, accum, seed, clipNorm, adamw } = runSettings(o);

  // What trains, and whether it fits.
  const lineage = await readLineage(base.folder.dir);
  const trainable = resolveTrainable([...base.params.keys()], base.decoder, {
    trainLayers: o.trainLayers,
    freezeEmbeddings: o.freezeEmbeddings,
    newLayers: lineage?.new_layers,
  });
  const rows = spec.rows(batch);
  const budget = o.memoryBudget ?? totalmem() * 0.85;
  const nParams = checkMemory(base, trainable, batch, rows / batch, spec.seqLen, budget, !!o.recompute);

  const objective: Objective = await spec.prepare({
    model: base,
    tokenizer,
    batch,
    microBatches: accum,
    seed,
    note,
  });
  let unlock: (() => Promise<void>) | undefined;
  try {
    // Only now, with every input checked, may an existing run be replaced (--force).
    unlock = await prepareRunFolder(o.out, o);
    const resumeFrom = o.resume ? await resumePoint(o.out, o.resume) : undefined;

    const fingerprint: RunFingerprint = {
      base_config: sha(JSON.stringify(base.folder.config)),
      batch,
      grad_accum: accum,
      trainable: sha(trainable.join("\n")),
      seed,
      ...run.fingerprint,
      ...objective.fingerprint,
    };

    // Starting point: the base model, or a checkpoint of this same run.
    let params = base.params;
    let state: TrainerState | undefined;
    // Every schedule the run has had, with the step it took effect (only once it has changed).
    let scheduleHistory: { from_step: number; schedule: Schedule }[] = [];
    if (resumeFrom) {
      state = await readTrainerState(resumeFrom);
      if (state.objective !== spec.method) {
        throw new UsageError(
          `--resume ${resumeFrom}: that run trained with ${state.objective}, not ${spec.method}`,
        );
      }
      for (const [k, v] of Object.entries(fingerprint)) {
        if (state.fingerprint[k] !== v) {
          const what =
            { base_config: "base model", data: "training data", trainable: "trained parameters" }[k] ?? k;
          throw new UsageError(
            `--resume ${resumeFrom}: that run used a different ${what} (${state.fingerprint[k]} vs ${v})`,
          );
        }
      }
      const before = state.settings.schedule as Schedule | undefined;
      scheduleHistory = [...((state.settings.schedule_history as typeof scheduleHistory | undefined) ?? [])];
      if (before && !sameSchedule(before, schedule)) {
        if (!o.overrideSchedule) {
          throw new UsageError(
            `--resume ${resumeFrom}: that run's schedule was ${describeSchedule(before)}, this one is ${describeSchedule(schedule)}; ` +
              "give the same options, or --override-schedule to continue with the new one",
          );
        }
        note(
          `schedule changed at step ${state.step}: ${describeSchedule(before)} -> ${describeSchedule(schedule)}`,
        );
        if (scheduleHistory.length === 0) scheduleHistory.push({ from_step: 0, schedule: before });
        scheduleHistory.push({ from_step: state.step, schedule });
      }
      params = (await loadWeights(resumeFrom)).params;
      objective.restore(state.data_position);
      note(`resuming from ${resumeFrom} at step ${state.step}`);
    }
    const engine = await EngineStep.create(base.decoder, params, rows, spec.seqLen, {
      loss: objective.loss,
      decoder: objective.decoder,
      lengths: objective.lengths,
      trainable,
      microBatches: accum,
      clipNorm,
      recompute: o.recompute,
      adamw,
      decay: decaysExceptEmbeddings,
      device: o.device,
    });
    const evalModel = objective.evaluate
      ? DecoderModel.fromParams(base.decoder, engine.params, { device: o.device })
      : undefined;
    try {
      if (resumeFrom && state) engine.restore(await readOptimizerState(resumeFrom, state.step), resumeFrom);
      const metrics = join(o.out, METRICS_FILE);
      // The newest checkpoint saved, named if writing the metrics fails.
      let lastSaved = resumeFrom;
      if (state) await trimMetrics(metrics, state.step, resumeFrom);
      const settings = {
        model: base.folder.dir,
        ...objective.settings,
        batch,
        grad_accum: accum,
        schedule,
        clip_norm: clipNorm,
        ...(o.recompute && { recompute: true }),
        weight_decay: adamw.weightDecay,
        seed,
        trainable:
          trainable.length === base.params.size
            ? "all"
            : `${trainable.length} of ${base.params.size} tensors`,
        command: o.command,
        ...(scheduleHistory.length > 0 && { schedule_history: scheduleHistory }),
      };
      let lastEval = state?.last_eval;
      let startEval = lastEval;
      const losses: number[] = [];
      const baseCard = existsSync(join(base.folder.dir, "README.md"))
        ? await readFile(join(base.folder.dir, "README.md"), "utf8")
        : "";
      let skippedCount = state?.skipped_nonfinite ?? 0;
      const save = async (step: number, tokensSeen: number, finished: boolean) => {
        const dir = join(o.out, finished ? FINAL_DIR : checkpointName(step));
        const st: TrainerState = {
          format: TRAINER_STATE_FORMAT,
          objective: spec.method,
          step,
          tokens_seen: tokensSeen,
          data_position: objective.position(),
          skipped_nonfinite: skippedCount,
          finished,
          fingerprint,
          last_eval: lastEval,
          settings,
        };
        const training = {
          method: spec.method,
          steps: step,
          tokens: tokensSeen,
          settings,
          last_eval: lastEval ?? null,
        };
        const from = lineage ?? baseLineage(base, nParams);
        await saveCheckpoint(dir, {
          sourceDir: run.filesFrom,
          config: base.folder.config,
          params: engine.params,
          optimizer: engine.optimizerState(),
          state: st,
          card: trainingCard({
            baseCard,
            name: base.folder.name,
            title: spec.title,
            state: st,
            shape: objective.describe(),
            batch,
            gradAccum: accum,
            command: o.command,
          }),
          lineage: { ...from, training: [...(from.training ?? []), training] },
        });
        lastSaved = dir;
        if (!finished && o.keepLast) await pruneCheckpoints(o.out, o.keepLast);
        return dir;
      };
      const evaluate = evalModel ? () => objective.evaluate!(evalModel) : undefined;

      o.onStart?.({ totalSteps, startStep: state?.step ?? 0 });
      if (o.evalAtStart && !state && evaluate) {
        lastEval = await evaluate();
        startEval = lastEval;
        const rec: Record<string, number> = { step: 0, tokens: 0 };
        for (const [k, v] of Object.entries(lastEval)) rec[`eval_${k}`] = v;
        appendMetrics(metrics, rec, lastSaved);
        o.onStartEval?.(lastEval);
      }
      const r = await runTrainingLoop({
        startStep: state?.step ?? 0,
        totalSteps,
        tokensSeen: state?.tokens_seen ?? 0,
        nextMicroBatches: () => objective.nextStep(),
        step: (micro, stepLr) => engine.run(micro, stepLr),
        learningRate: (s) => learningRate(schedule, s),
        evalEvery: evaluate
          ? (o.evalEvery ?? Math.max(1, Math.floor(totalSteps / RUN_DEFAULTS.evaluations)))
          : undefined,
        evaluate: evaluate
          ? async () => {
              lastEval = await evaluate();
              return lastEval;
            }
          : undefined,
        saveEvery: o.saveEvery,
        save,
        skipNonFinite: !!o.skipNonFinite,
        skipped: skippedCount,
        onSkip: (s) => {
          skippedCount++;
          note(`step ${s}: non-finite loss or gradient, batch skipped (${skippedCount} so far)`);
        },
        log: (rec) => {
          losses.push(rec.loss);
          appendMetrics(metrics, rec, lastSaved); // in order, and on disk before the next step
          o.onLog?.(rec);
        },
        interrupted: o.interrupted ?? (() => false),
        lastCheckpoint: resumeFrom,
      });
      const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
      const k = Math.min(SUMMARY_STEPS, Math.floor(losses.length / 2) || losses.length);
      return {
        startStep: state?.step ?? 0,
        steps: r.steps,
        tokensSeen: r.tokensSeen,
        skipped: r.skipped,
        interrupted: r.interrupted,
        checkpoint: r.lastCheckpoint,
        lastEval: r.lastEval ?? lastEval,
        startEval,
        firstLoss: losses[0],
        lastLoss: losses.at(-1),
        trainLossStart: mean(losses.slice(0, k)),
        trainLossEnd: mean(losses.slice(losses.length - k)),
      };
    } finally {
      await engine.release();
      await evalModel?.release();
    }
  } finally {
    await unlock?.();
    await objective.close();
  }
}
