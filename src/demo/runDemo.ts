// `deepen demo`: the SOLAR experiment in miniature, on the embedded model and corpora. Up-scale
// deepen-tiny by DUS (8 → 12 layers, m = 2 = n/4), measure the drop in held-out perplexity, then
// continue pretraining the grown model and, as the control, the base for the same steps on the same
// batches of text the base never saw (the Brown corpus, as the paper healed on new data), and report
// how fast the grown model heals and whether it passes the control. --seeds repeats the pair with
// other data orders; --ablation adds the paper's and LLaMA Pro's alternatives under the same budget.

import { cpus } from "node:os";
import { existsSync } from "node:fs";
import { resolveModel } from "../checkpoint/resolveModel.js";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkOutputTarget, withAtomicOutput } from "../checkpoint/atomicOutput.js";
import { readDocuments } from "../data/corpus.js";
import { isEmbedded } from "../data/embeddedCorpus.js";
import { UsageError } from "../errors.js";
import { initModel } from "../nn/initModel.js";
import { lossPlotSvg, type Series } from "../report/lossPlot.js";
import { snakeCaseKeys } from "../report/snakeCaseKeys.js";
import { svgToPng } from "../report/svgToPng.js";
import { inspectModel } from "../surgery/inspectModel.js";
import { upscale } from "../surgery/upscale.js";
import { measureSeam } from "../eval/seam/measureSeam.js";
import { seamRecipeDoc } from "../eval/seam/seamRecipe.js";
import type { YamlFile } from "../mergekit/mergekitYaml.js";
import type { StepRecord } from "../train/loop.js";
import { FINAL_DIR, pretrain } from "../train/pretrain.js";
import { crossover, type EvalPoint, meanCurve, meanSd } from "./crossover.js";
import { demoSummary } from "./demoSummary.js";

export type { EvalPoint } from "./crossover.js";

/** The embedded default model, committed under assets/ (three levels above dist/src/demo/). */
export const DEFAULT_MODEL = fileURLToPath(new URL("../../../assets/deepen-tiny", import.meta.url));

/** The healing corpus: the Brown corpus, which deepen-tiny never saw. */
export const HEAL_DATA = "brown:train";
export const HEAL_HELDOUT = "brown:heldout";
/** Tokens --ablation measures the seam on (deepen seam's README figure used as many). */
const SEAM_TOKENS = 20_000;

/** What the report folder holds. */
export const REPORT_FILES = {
  metrics: "metrics.jsonl",
  plot: "loss.svg",
  plotPng: "loss.png",
  summary: "summary.md",
  result: "demo.json",
  healed: "healed",
} as const;

/** The default run: sized to finish in about ten minutes on two CPU cores. */
export const DEFAULT_STEPS = 450;
/**
 * The default peak learning rate of every run (cosine to a tenth of it), chosen by measurement on
 * the Brown corpus (450 steps, seed 0): at 2e-4 the control ended at 83.92 and DUS at 83.48, level
 * at step 135 (93.28 against 93.29); at 4e-4 the control ended at 80.29 and DUS at 79.70, ahead
 * from step 135 on (92.16 against 92.52). On text the base already knows (embedded:train) a rate
 * above its own final 2e-4 re-warms it and hides the healing; on new text the higher rate heals both.
 */
export const DEFAULT_LR = 4e-4;
/** --quick: a few hundred KB of training text, short sequences and a small held-out sample (CI). */
const QUICK_TRAIN_BYTES = 300_000;

export interface DemoOptions {
  out: string;
  /** The base model (default: assets/deepen-tiny). */
  model?: string;
  steps?: number;
  /** The first seed; --seeds N runs seeds seed … seed + N − 1. */
  seed?: number;
  seeds?: number;
  /** Peak learning rate (default DEFAULT_LR). */
  lr?: number;
  /** The text both runs heal on and its held-out part (default: the Brown corpus). */
  healData?: string;
  healEval?: string;
  quick?: boolean;
  ablation?: boolean;
  force?: boolean;
  cacheDir?: string;
  command?: string;
  onRunStart?: (run: RunSpec & { seed: number }, index: number, runs: number, totalSteps: number) => void;
  onStep?: (run: RunSpec, rec: StepRecord) => void;
  /** The held-out perplexity of a run's starting model (step 0). */
  onStartEval?: (run: RunSpec & { seed: number }, perplexity: number) => void;
  onNote?: (message: string) => void;
}

export interface RunSpec {
  key: string;
  label: string;
  /** What the run starts from, for the table. */
  layers: number;
  trainLayers?: string;
  dashed?: boolean;
}

/** One seed of one run. */
export interface SeedRun {
  seed: number;
  evals: EvalPoint[];
  seconds: number;
  tokensPerSecond: number;
  /** The first evaluation at or below the control's at the same step (undefined for the control). */
  crossover?: { step: number; tokens: number } | null;
}

export interface RunResult extends RunSpec {
  parameters: number;
  /** The evaluations averaged over seeds (the plotted curve). */
  evals: EvalPoint[];
  seeds: SeedRun[];
  seconds: number;
  tokensPerSecond: number;
}

export interface DemoResult {
  base: string;
  date: string;
  machine: string;
  command?: string;
  settings: {
    steps: number;
    batch: number;
    seqLen: number;
    lr: number;
    minLr: number;
    warmup: number;
    evalEvery: number;
    evalSequences: number;
    seeds: number[];
    healData: string;
    healEval: string;
    quick: boolean;
  };
  runs: RunResult[];
  /** The first evaluation at which the DUS model's held-out perplexity (mean over seeds) is at or
   * below the base's at step 0, or null when it never gets there within the run. */
  dusRecoveredAt: { step: number; tokens: number } | null;
  /** The first evaluation at which the DUS model's mean curve is at or below the control's at the
   * same step (the point marked on the plot), or null. */
  dusCrossover: { step: number; tokens: number } | null;
  seconds: number;
}

interface Setting {
  batch: number;
  seqLen: number;
  lr: number;
  minLr: number;
  warmup: number;
  evalEvery: number;
  evalBatches: number;
}

function settingsFor(steps: number, quick: boolean, lr: number): Setting {
  return quick
    ? {
        batch: 2,
        seqLen: 64,
        lr,
        minLr: lr / 10,
        warmup: 0,
        evalEvery: Math.max(1, Math.floor(steps / 2)),
        evalBatches: 2,
      }
    : {
        batch: 4,
        seqLen: 256,
        lr,
        minLr: lr / 10,
        warmup: Math.max(1, Math.round(steps * 0.04)),
        evalEvery: Math.max(1, Math.floor(steps / 10)),
        evalBatches: 8,
      };
}

/** The first point of `evals` at or below `target` perplexity. */
export function firstAtOrBelow(evals: readonly EvalPoint[], target: number): EvalPoint | undefined {
  return evals.find((e) => e.perplexity <= target);
}

/** A few hundred KB of the healing text as files: --quick trains on these instead. */
async function quickTrainingData(data: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  let i = 0;
  for await (const doc of readDocuments([data])) {
    await writeFile(join(dir, `${String(i++).padStart(4, "0")}.txt`), doc.text);
    bytes += Buffer.byteLength(doc.text);
    if (bytes >= QUICK_TRAIN_BYTES) break;
  }
  return dir;
}

async function layersOf(model: string): Promise<number> {
  const config = JSON.parse(await readFile(join(model, "config.json"), "utf8")) as {
    num_hidden_layers?: number;
  };
  if (typeof config.num_hidden_layers !== "number")
    throw new UsageError(
      `${model}: config.json has no num_hidden_layers (the demo needs a Llama-family model)`,
    );
  return config.num_hidden_layers;
}

/** The held-out text for --heal-data: the named split's held-out part for an embedded corpus. */
function heldOutFor(healData: string, healEval: string | undefined): string {
  if (healEval !== undefined) return healEval;
  const m = /^([a-z]+:)train$/.exec(healData);
  if (m && isEmbedded(healData)) return `${m[1]}heldout`;
  throw new UsageError(`--heal-data ${healData}: name its held-out text with --heal-eval`);
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  // Any model reference (a Hub id is downloaded unless cached), read from the folder it resolves to.
  const model = (await resolveModel(o.model ?? DEFAULT_MODEL)).dir;
  if (!existsSync(join(model, "config.json")))
    throw new UsageError(`${model}: no config.json (the demo's base model is missing)`);
  const steps = o.steps ?? DEFAULT_STEPS;
  if (!Number.isInteger(steps) || steps < 1)
    throw new UsageError(`--steps ${steps}: must be a positive integer`);
  const seed = o.seed ?? 0;
  const nSeeds = o.seeds ?? 1;
  if (!Number.isInteger(nSeeds) || nSeeds < 1)
    throw new UsageError(`--seeds ${nSeeds}: must be a positive integer`);
  const seeds = Array.from({ length: nSeeds }, (_, k) => seed + k);
  const lr = o.lr ?? DEFAULT_LR;
  if (!(lr > 0)) throw new UsageError(`--lr ${lr}: must be a positive number`);
  const healData = o.healData ?? HEAL_DATA;
  const healEval = heldOutFor(healData, o.healEval);
  const quick = !!o.quick;
  const s = settingsFor(steps, quick, lr);
  checkOutputTarget(o.out, {
    force: o.force,
    inputs: [model, healData, healEval].filter((p) => !isEmbedded(p)),
  });
  const n = await layersOf(model);
  if (n < 4 || n % 4 !== 0)
    throw new UsageError(`${model}: ${n} layers; the demo's recipe (m = n/4) needs a multiple of 4`);
  const m = n / 4;

  return withAtomicOutput(o.out, { force: o.force }, async (tmp) => {
    const work = join(tmp, "work");
    const models = join(work, "models");
    const trainData = quick ? await quickTrainingData(healData, join(work, "quick-train")) : healData;

    type Planned = RunSpec & { model: string; parameters: number };
    const planned: Planned[] = [];
    const grow = async (
      key: string,
      opts: { drop?: number; method?: "expand"; blocks?: number; recipe?: YamlFile },
    ) => {
      const r = await upscale({ ...(opts.recipe ? {} : { model }), out: join(models, key), ...opts });
      return { model: join(models, key), layers: r.layers, parameters: r.parameters };
    };
    const baseParams = (await inspectModel(model)).parameters;
    planned.push({
      key: "base",
      label: `base, ${n} layers (control)`,
      model,
      layers: n,
      parameters: baseParams,
      dashed: true,
    });
    const dus = await grow("dus", { drop: m });
    planned.push({ key: "dus", label: `DUS m=${m}, ${dus.layers} layers`, ...dus });
    if (o.ablation) {
      const naive = await grow("dus-m0", { drop: 0 });
      planned.push({ key: "dus-m0", label: `naive repeat m=0, ${naive.layers} layers`, ...naive });
      // The cut deepen seam recommends for the same depth, measured on the healing text (not the
      // held-out text the runs are judged on).
      const seam = await measureSeam(model, { data: trainData, tokens: SEAM_TOKENS, size: dus.layers });
      const rec = seam.recommended;
      const what = rec.symmetric ? `DUS m=${rec.m}` : `[0, ${rec.a}) + [${rec.b}, ${n})`;
      o.onNote?.(
        `deepen seam recommends ${what} for ${dus.layers} layers (seam distance ${rec.distance.mean.toFixed(4)}; m=${m}: ${seam.dus[m]!.distance.mean.toFixed(4)})`,
      );
      if (rec.symmetric && rec.m === m) o.onNote?.(`that is the paper's m = n/4 itself: no extra run`);
      else {
        const cut = rec.symmetric
          ? await grow("seam", { drop: rec.m })
          : await grow("seam", {
              recipe: {
                file: `${model} (deepen seam's recommended plan)`,
                doc: seamRecipeDoc(model, n, rec),
              },
            });
        planned.push({ key: "seam", label: `seam-recommended ${what}, ${cut.layers} layers`, ...cut });
      }
      const scratchDir = join(models, "scratch");
      const cfg = JSON.parse(await readFile(join(model, "config.json"), "utf8")) as Record<string, number>;
      const init = await initModel(scratchDir, {
        tokenizer: model,
        layers: dus.layers,
        dims: {
          hidden: cfg.hidden_size!,
          intermediate: cfg.intermediate_size!,
          heads: cfg.num_attention_heads!,
          kvHeads: cfg.num_key_value_heads ?? cfg.num_attention_heads!,
          headDim: cfg.head_dim ?? cfg.hidden_size! / cfg.num_attention_heads!,
        },
        context: cfg.max_position_embeddings ?? 256,
        seed,
      });
      planned.push({
        key: "scratch",
        label: `from scratch, ${dus.layers} layers`,
        model: scratchDir,
        layers: dus.layers,
        parameters: init.parameters,
      });
      const expand = await grow("expand", { method: "expand", blocks: dus.layers - n });
      planned.push({ key: "expand-all", label: `block expansion, all layers trained`, ...expand });
      planned.push({
        key: "expand-new",
        label: `block expansion, new layers only`,
        ...expand,
        trainLayers: "new",
      });
    }

    const perRun = new Map<string, SeedRun[]>(planned.map((r) => [r.key, []]));
    const metricLines: string[] = [];
    const total = planned.length * seeds.length;
    for (const [si, runSeed] of seeds.entries()) {
      for (const [i, run] of planned.entries()) {
        o.onRunStart?.({ ...run, seed: runSeed }, si * planned.length + i, total, steps);
        const evals: EvalPoint[] = [];
        const runStarted = Date.now();
        let trainSeconds = 0;
        let tokens = 0;
        const runDir = join(work, "runs", `${run.key}-${runSeed}`);
        await pretrain({
          model: run.model,
          data: [trainData],
          evalData: [healEval],
          out: runDir,
          seqLen: s.seqLen,
          batch: s.batch,
          lr: s.lr,
          minLr: s.minLr,
          warmup: s.warmup,
          schedule: "cosine",
          maxSteps: steps,
          evalEvery: s.evalEvery,
          evalBatches: s.evalBatches,
          evalAtStart: true,
          seed: runSeed,
          trainLayers: run.trainLayers,
          cacheDir: o.cacheDir,
          onNote: o.onNote,
          onStartEval: (e) => {
            evals.push({ step: 0, tokens: 0, loss: e.loss, perplexity: Math.exp(e.loss) });
            o.onStartEval?.({ ...run, seed: runSeed }, Math.exp(e.loss));
            metricLines.push(
              JSON.stringify({
                run: run.key,
                seed: runSeed,
                step: 0,
                tokens: 0,
                eval_loss: e.loss,
                eval_perplexity: e.perplexity,
              }),
            );
          },
          onLog: (rec) => {
            trainSeconds += rec.tokens / Math.max(1, rec.step) / rec.tokens_per_s;
            tokens = rec.tokens;
            if (rec.eval_loss !== undefined)
              evals.push({
                step: rec.step,
                tokens: rec.tokens,
                loss: rec.eval_loss,
                perplexity: rec.eval_perplexity!,
              });
            metricLines.push(JSON.stringify({ run: run.key, seed: runSeed, ...rec }));
            o.onStep?.(run, rec);
          },
        });
        const control = perRun.get("base")![si]?.evals;
        const cross = run.key === "base" || !control ? undefined : crossover(control, evals);
        perRun.get(run.key)!.push({
          seed: runSeed,
          evals,
          seconds: (Date.now() - runStarted) / 1000,
          tokensPerSecond: trainSeconds > 0 ? tokens / trainSeconds : 0,
          ...(run.key !== "base" && { crossover: cross ? { step: cross.step, tokens: cross.tokens } : null }),
        });
        if (run.key === "dus" && si === 0) {
          // The healed checkpoint (first seed): a plain Hugging Face folder, without the optimizer state.
          const final = join(runDir, FINAL_DIR);
          await rm(join(final, "optimizer.safetensors"), { force: true });
          await rm(join(final, "trainer_state.json"), { force: true });
          await rename(final, join(tmp, REPORT_FILES.healed));
        }
        await rm(runDir, { recursive: true, force: true });
      }
    }

    const results: RunResult[] = planned.map((run) => {
      const runs = perRun.get(run.key)!;
      return {
        key: run.key,
        label: run.label,
        layers: run.layers,
        parameters: run.parameters,
        ...(run.trainLayers !== undefined && { trainLayers: run.trainLayers }),
        ...(run.dashed && { dashed: true }),
        evals: meanCurve(runs.map((r) => r.evals)),
        seeds: runs,
        seconds: runs.reduce((a, r) => a + r.seconds, 0),
        tokensPerSecond: meanSd(runs.map((r) => r.tokensPerSecond)).mean,
      };
    });
    const baseRun = results[0]!;
    const baseStart = baseRun.evals[0]!;
    const dusRun = results.find((r) => r.key === "dus")!;
    const rec = firstAtOrBelow(dusRun.evals, baseStart.perplexity);
    const cross = crossover(baseRun.evals, dusRun.evals);
    const result: DemoResult = {
      base: model,
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores`,
      ...(o.command !== undefined && { command: o.command }),
      settings: {
        steps,
        batch: s.batch,
        seqLen: s.seqLen,
        lr: s.lr,
        minLr: s.minLr,
        warmup: s.warmup,
        evalEvery: s.evalEvery,
        evalSequences: s.evalBatches * s.batch,
        seeds,
        healData,
        healEval,
        quick,
      },
      runs: results,
      dusRecoveredAt: rec ? { step: rec.step, tokens: rec.tokens } : null,
      dusCrossover: cross ? { step: cross.step, tokens: cross.tokens } : null,
      seconds: (Date.now() - started) / 1000,
    };
    await rm(work, { recursive: true, force: true });
    await writeFile(join(tmp, REPORT_FILES.metrics), metricLines.join("\n") + "\n");
    const series: Series[] = results.map((r) => ({
      label: r.label,
      dashed: r.dashed,
      points: r.evals.map((e) => ({ x: e.tokens, y: e.loss })),
    }));
    const dusAt = cross && dusRun.evals.find((e) => e.step === cross.step);
    const svg = lossPlotSvg(series, {
      title: quick
        ? `Smoke test (--quick, ${steps} steps): not a healing result`
        : `Healing after depth up-scaling (${steps} steps${seeds.length > 1 ? `, mean of ${seeds.length} seeds` : ""})`,
      xLabel: "training tokens",
      yLabel: "held-out loss (nats/token)",
      reference: { y: baseStart.loss, label: "base at step 0" },
      ...(dusAt && {
        markers: [{ x: dusAt.tokens, y: dusAt.loss, label: `DUS ≤ control (step ${dusAt.step})` }],
      }),
    });
    await writeFile(join(tmp, REPORT_FILES.plot), svg);
    await writeFile(join(tmp, REPORT_FILES.plotPng), svgToPng(svg));
    await writeFile(join(tmp, REPORT_FILES.result), JSON.stringify(snakeCaseKeys(result), null, 2) + "\n");
    await writeFile(join(tmp, REPORT_FILES.summary), demoSummary(result));
    return result;
  });
}
