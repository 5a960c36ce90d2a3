import cliProgress from "cli-progress";
import { countOf } from "../formatCount.js";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { pretrain } from "../train/pretrain.js";
import { type RunOptions, type RunResult, SUMMARY_STEPS } from "../train/run.js";
import { sft } from "../train/sft.js";
import { dpo } from "../train/dpo.js";
import { DPO_LOSSES, type DpoLossKind } from "../train/dpo/dpoLoss.js";
import { PREFERENCE_FORMATS, parsePreferenceFormat } from "../data/instruct/preference.js";
import { snakeCaseKeys } from "../report/snakeCaseKeys.js";
import { INSTRUCTION_EXTENSIONS } from "../data/instruct/read.js";
import { INSTRUCTION_FORMATS, parseInstructionFormat } from "../data/instruct/formats.js";
import { BUILTIN_TEMPLATES } from "../tokenizer/builtinTemplates.js";
import type { EvalResult, StepRecord } from "../train/loop.js";
import type { ScheduleKind } from "../train/schedule.js";
import {
  ADAMW_DEFAULTS,
  DPO_DEFAULTS,
  PRETRAIN_DEFAULTS,
  RUN_DEFAULTS,
  SFT_DEFAULTS,
} from "../train/defaults.js";
import { parseDevice } from "./deviceOption.js";
import { EXT_HELP, parseCount, parseExtensions, parseNumber } from "./parseOptions.js";
import { runCommand } from "./run.js";

interface Flags {
  model?: string;
  data?: string[];
  out?: string;
  seqLen: string;
  batch: string;
  gradAccum: string;
  lr: string;
  minLr?: string;
  warmup: string;
  schedule: string;
  maxSteps?: string;
  maxTokens?: string;
  evalData?: string[];
  evalFraction?: string;
  evalEvery?: string;
  evalBatches?: string;
  evalAtStart?: boolean;
  saveEvery?: string;
  keepLast?: string;
  seed: string;
  textField: string;
  ext?: string;
  trainLayers?: string;
  freezeEmbeddings?: boolean;
  resume?: string | boolean;
  skipNonfinite?: boolean;
  overrideSchedule?: boolean;
  force?: boolean;
  clip: string;
  recompute?: boolean;
  weightDecay: string;
  device: string;
  cacheDir?: string;
  verbose?: boolean;
  json?: boolean;
  format?: string;
  template?: string;
  addChatTokens?: boolean;
  pack?: boolean;
  truncate?: boolean;
  lastTurnOnly?: boolean;
  trainOnPrompt?: boolean;
  skipBad?: boolean;
  loss?: string;
  beta?: string;
  labelSmoothing?: string;
  rpoAlpha?: string;
  averageLogps?: boolean;
  ref?: string;
  refFree?: boolean;
}

/** DPO's reward accuracy and margin, where a record has them (`prefix`: "" or "eval_"). */
const rewards = (r: Record<string, number | undefined>, prefix: string) =>
  r[`${prefix}rewards/accuracies`] === undefined
    ? ""
    : ` acc ${r[`${prefix}rewards/accuracies`]!.toFixed(3)} margin ${r[`${prefix}rewards/margins`]!.toFixed(3)}`;

const fmt = (r: StepRecord, total: number) =>
  `step ${r.step}/${total} loss ${r.loss.toFixed(4)}${rewards(r, "")} lr ${r.lr.toExponential(2)} grad ${r.grad_norm.toFixed(3)} ` +
  `${r.tokens_per_s.toFixed(0)} tok/s` +
  (r.eval_loss !== undefined
    ? ` | eval loss ${r.eval_loss.toFixed(4)}` +
      (r.eval_perplexity !== undefined ? ` ppl ${r.eval_perplexity.toFixed(3)}` : "") +
      rewards(r, "eval_")
    : "");

/** Options every training command takes (the run scaffold's), with their defaults. */
function runOptions(cmd: Command, lr: number): Command {
  return cmd
    .requiredOption("--model <dir>", "model folder to start from (required)")
    .requiredOption("-o, --out <dir>", "run folder: checkpoint-NNNNNN/, final/, metrics.jsonl (required)")
    .option("--batch <n>", "sequences per micro-batch", String(RUN_DEFAULTS.batch))
    .option("--grad-accum <n>", "micro-batches per optimizer step", String(RUN_DEFAULTS.gradAccum))
    .option("--lr <x>", "peak learning rate", String(lr))
    .option("--min-lr <x>", `learning rate at the end of decay (default lr/${RUN_DEFAULTS.minLrDivisor})`)
    .option("--warmup <n>", "warmup steps", String(RUN_DEFAULTS.warmup))
    .option("--schedule <kind>", "cosine, linear or constant", RUN_DEFAULTS.schedule)
    .option("--max-steps <n>", "optimizer steps")
    .option("--max-tokens <n>", "training tokens (sets the steps)")
    .option("--eval-every <n>", "steps between evaluations (default: a tenth of the run)")
    .option(
      "--eval-batches <n>",
      `batches per evaluation (default: all, at most ${RUN_DEFAULTS.evalBatches})`,
    )
    .option("--eval-at-start", "evaluate the starting model too (logged as step 0)")
    .option("--save-every <n>", "steps between checkpoints (one is always saved at the end)")
    .option("--keep-last <k>", "keep only the newest k checkpoints")
    .option("--seed <n>", "shuffling seed", String(RUN_DEFAULTS.seed))
    .option(
      "--train-layers <spec>",
      'train only these layers: "8-15,40-47", or "new" (the layers a surgery added)',
    )
    .option("--freeze-embeddings", "do not train the token embeddings")
    .option("--resume [checkpoint]", "continue the run in --out (its newest checkpoint, or the one named)")
    .option("--override-schedule", "with --resume: continue with these schedule options instead of the run's")
    .option("--skip-nonfinite", "skip batches whose loss or gradient is not finite, instead of stopping")
    .option("--force", "replace an existing run in --out")
    .option("--clip <x>", "global gradient-norm clipping (0: off)", String(RUN_DEFAULTS.clipNorm))
    .option(
      "--recompute",
      "keep only each layer's input and run the layer again in the backward pass: less memory, about a sixth more time",
    )
    .option(
      "--weight-decay <x>",
      "AdamW weight decay (not on norms, biases, embeddings)",
      String(ADAMW_DEFAULTS.weightDecay),
    )
    .option("--device <name>", "cpu, cuda or webgpu", "cpu")
    .option("--json", "print the run's result as one JSON object instead of the summary line")
    .option("--verbose", "print stack traces on errors");
}

const opt = (v: string | undefined, name: string) => (v === undefined ? undefined : parseCount(v, name));

/** The scaffold's options from the flags every training command shares. */
function runFlags(f: Flags): RunOptions {
  return {
    model: f.model!,
    out: f.out!,
    batch: parseCount(f.batch, "--batch"),
    gradAccum: parseCount(f.gradAccum, "--grad-accum"),
    lr: parseNumber(f.lr, "--lr"),
    minLr: f.minLr === undefined ? undefined : parseNumber(f.minLr, "--min-lr"),
    warmup: parseCount(f.warmup, "--warmup"),
    schedule: f.schedule as ScheduleKind,
    maxSteps: opt(f.maxSteps, "--max-steps"),
    maxTokens: opt(f.maxTokens, "--max-tokens"),
    evalEvery: opt(f.evalEvery, "--eval-every"),
    evalAtStart: f.evalAtStart,
    saveEvery: opt(f.saveEvery, "--save-every"),
    keepLast: opt(f.keepLast, "--keep-last"),
    seed: parseCount(f.seed, "--seed"),
    trainLayers: f.trainLayers,
    freezeEmbeddings: f.freezeEmbeddings,
    resume: f.resume,
    skipNonFinite: f.skipNonfinite,
    overrideSchedule: f.overrideSchedule,
    force: f.force,
    clipNorm: parseNumber(f.clip, "--clip"),
    recompute: f.recompute,
    weightDecay: parseNumber(f.weightDecay, "--weight-decay"),
    device: parseDevice(f.device),
    command: ["deepen", ...process.argv.slice(2)].join(" "),
  };
}

/** The data options pretraining and SFT share: held-out data and how much of it to score. */
function evalFlags(f: Flags) {
  return {
    evalData: f.evalData,
    evalFraction: f.evalFraction === undefined ? undefined : parseNumber(f.evalFraction, "--eval-fraction"),
    evalBatches: opt(f.evalBatches, "--eval-batches"),
  };
}

/**
 * Runs a training command with Ctrl-C saving a checkpoint, a progress bar on a terminal (a line per
 * step otherwise), and the closing summary.
 */
async function runWithProgress(
  run: (o: Partial<RunOptions>) => Promise<RunResult>,
  json = false,
): Promise<void> {
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130); // a second Ctrl-C does not wait for the checkpoint
    stop = true;
    process.stderr.write("\ninterrupt: saving a checkpoint after this step (Ctrl-C again to quit now)\n");
  };
  process.on("SIGINT", onSigint);
  const tty = process.stderr.isTTY;
  let bar: cliProgress.SingleBar | undefined;
  let total = 0;
  const started = Date.now();
  try {
    const r = await run({
      onNote: (m) => process.stderr.write(`${m}\n`),
      interrupted: () => stop,
      onStart: ({ totalSteps, startStep }) => {
        total = totalSteps;
        if (!tty) return;
        bar = new cliProgress.SingleBar(
          {
            format:
              "training [{bar}] {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_formatted}",
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(totalSteps, startStep, { loss: "-", tps: "-" });
      },
      onLog: (rec) => {
        if (bar) {
          bar.update(rec.step, { loss: rec.loss.toFixed(4), tps: rec.tokens_per_s.toFixed(0) });
          if (rec.eval_loss !== undefined) process.stderr.write(`\n${fmt(rec, total)}\n`);
        } else {
          process.stderr.write(fmt(rec, total) + "\n");
        }
      },
    });
    bar?.stop();
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    if (json) process.stdout.write(JSON.stringify(snakeCaseKeys({ ...r, seconds: Number(secs) })) + "\n");
    if (r.interrupted) {
      if (!json)
        process.stdout.write(
          `interrupted after step ${r.steps}: saved ${r.checkpoint}; continue with --resume\n`,
        );
      process.exitCode = 130;
    } else if (!json) process.stdout.write(runSummary(r, secs) + "\n");
  } finally {
    process.off("SIGINT", onSigint);
  }
}

export function registerTrain(program: Command): void {
  const train = program.command("train").description("train a model on the engine");
  runOptions(
    train
      .command("pretrain")
      .description("continued pretraining: pack a corpus, AdamW with a schedule, checkpoints, exact resume")
      .option("--data <paths...>", "text files, folders, JSONL (text field), or .gz of either")
      .option("--seq-len <n>", "tokens per sequence", String(PRETRAIN_DEFAULTS.seqLen))
      .option("--eval-data <paths...>", "held-out text")
      .option("--eval-fraction <f>", "hold out this fraction of the documents instead")
      .option("--text-field <name>", "JSONL field holding the text", PRETRAIN_DEFAULTS.textField)
      .option("--ext <list>", EXT_HELP)
      .option("--cache-dir <dir>", "token cache (default $DEEPEN_CACHE or ~/.cache/deepen)"),
    RUN_DEFAULTS.lr,
  ).action(async (f: Flags) => {
    await runCommand(!!f.verbose, async () => {
      if (!f.data?.length) throw new UsageError("--data: name the training text (files, folders, JSONL)");
      const o = {
        ...runFlags(f),
        ...evalFlags(f),
        data: f.data,
        seqLen: parseCount(f.seqLen, "--seq-len"),
        textField: f.textField,
        extensions: parseExtensions(f.ext),
        cacheDir: f.cacheDir,
      };
      await runWithProgress((cli) => pretrain({ ...o, ...cli }), !!f.json);
    });
  });

  runOptions(
    train
      .command("dpo")
      .description(
        "preference alignment: DPO (or ipo, hinge) on chosen/rejected pairs against a frozen reference",
      )
      .option("--data <paths...>", "preference pairs: JSONL, JSON arrays, Parquet (or .gz of JSON/JSONL)")
      .option(
        "--format <shape>",
        `record shape of every file (default: detected per file): ${PREFERENCE_FORMATS.join(", ")}`,
      )
      .option(
        "--template <name>",
        `chat template to render with (default: the model's own): ${Object.keys(BUILTIN_TEMPLATES).join(", ")}`,
      )
      .option("--loss <kind>", `${DPO_LOSSES.join(", ")}`, DPO_DEFAULTS.loss)
      .option("--beta <x>", "strength of the pull toward the reference", String(DPO_DEFAULTS.beta))
      .option("--label-smoothing <e>", "conservative DPO: the chance a label is wrong (sigmoid loss)", "0")
      .option(
        "--rpo-alpha <a>",
        "add a times the chosen responses' token-mean NLL to the loss (RPO; 0: plain DPO)",
        "0",
      )
      .option("--average-logps", "length-averaged sequence log-probabilities (ipo always uses them)")
      .option("--ref <dir>", "reference model (default: the starting model, frozen)")
      .option("--ref-free", "no reference model: its log-probabilities count as 0")
      .option("--seq-len <n>", "tokens per sequence (prompt + response)", String(DPO_DEFAULTS.seqLen))
      .option("--truncate", "cut pairs longer than --seq-len instead of dropping them")
      .option("--skip-bad", "skip malformed records (counted) instead of stopping at the first")
      .option("--eval-data <paths...>", "held-out preference pairs")
      .option("--eval-fraction <f>", "hold out this fraction of the pairs instead")
      .option(
        "--ext <list>",
        `in folders, read only these extensions (default ${INSTRUCTION_EXTENSIONS.join(",")})`,
      ),
    DPO_DEFAULTS.lr,
  ).action(async (f: Flags) => {
    await runCommand(!!f.verbose, async () => {
      if (!f.data?.length) throw new UsageError("--data: name the preference pairs (JSONL, JSON, Parquet)");
      const o = {
        ...runFlags(f),
        ...evalFlags(f),
        data: f.data,
        seqLen: parseCount(f.seqLen, "--seq-len"),
        format: f.format === undefined ? undefined : parsePreferenceFormat(f.format),
        template: f.template,
        loss: f.loss as DpoLossKind,
        beta: parseNumber(f.beta!, "--beta"),
        labelSmoothing: parseNumber(f.labelSmoothing!, "--label-smoothing"),
        rpoAlpha: parseNumber(f.rpoAlpha!, "--rpo-alpha"),
        averageLogps: f.averageLogps,
        ref: f.ref,
        refFree: f.refFree,
        truncate: f.truncate,
        skipBad: f.skipBad,
        extensions: parseExtensions(f.ext),
      };
      await runWithProgress((cli) => dpo({ ...o, ...cli }), !!f.json);
    });
  });

  runOptions(
    train
      .command("sft")
      .description(
        "supervised fine-tuning on instruction data: chat template, loss on the assistant's tokens, optional packing",
      )
      .option(
        "--data <paths...>",
        "instruction data: JSONL, JSON arrays, Parquet (or .gz of JSON/JSONL), files or folders",
      )
      .option(
        "--format <shape>",
        `record shape of every file (default: detected per file): ${INSTRUCTION_FORMATS.join(", ")}`,
      )
      .option(
        "--template <name>",
        `chat template to render with (default: the model's own): ${Object.keys(BUILTIN_TEMPLATES).join(", ")}`,
      )
      .option(
        "--add-chat-tokens",
        "add the template's special tokens the vocabulary lacks, growing the embeddings",
      )
      .option("--seq-len <n>", "tokens per sequence", String(SFT_DEFAULTS.seqLen))
      .option("--pack", "pack several examples per sequence (each attends only to itself)")
      .option("--truncate", "keep the first --seq-len tokens of longer examples instead of dropping them")
      .option("--last-turn-only", "train on the final assistant message only")
      .option("--train-on-prompt", "train on every token, prompts and template included")
      .option("--skip-bad", "skip malformed records (counted) instead of stopping at the first")
      .option("--eval-data <paths...>", "held-out instruction data")
      .option("--eval-fraction <f>", "hold out this fraction of the examples instead")
      .option(
        "--ext <list>",
        `in folders, read only these extensions (default ${INSTRUCTION_EXTENSIONS.join(",")})`,
      ),
    SFT_DEFAULTS.lr,
  ).action(async (f: Flags) => {
    await runCommand(!!f.verbose, async () => {
      if (!f.data?.length) throw new UsageError("--data: name the instruction data (JSONL, JSON, Parquet)");
      const o = {
        ...runFlags(f),
        ...evalFlags(f),
        data: f.data,
        seqLen: parseCount(f.seqLen, "--seq-len"),
        format: f.format === undefined ? undefined : parseInstructionFormat(f.format),
        template: f.template,
        addChatTokens: f.addChatTokens,
        pack: f.pack,
        truncate: f.truncate,
        lastTurnOnly: f.lastTurnOnly,
        trainOnPrompt: f.trainOnPrompt,
        skipBad: f.skipBad,
        extensions: parseExtensions(f.ext),
      };
      await runWithProgress((cli) => sft({ ...o, ...cli }), !!f.json);
    });
  });
}

/** The closing line: what this run trained and how the held-out loss moved (training loss when none). */
export function runSummary(r: RunResult, secs: string): string {
  if (r.steps === r.startStep)
    return `the run is already finished at step ${r.steps}; nothing to train (model in ${r.checkpoint})`;
  const trained = r.steps - r.startStep;
  const span = r.startStep > 0 ? ` (steps ${r.startStep + 1}-${r.steps}, resumed)` : "";
  const f = (e: EvalResult) =>
    `${e.loss.toFixed(4)}${e.perplexity !== undefined ? ` (perplexity ${e.perplexity.toFixed(3)})` : ""}` +
    (e["rewards/accuracies"] !== undefined
      ? ` (reward accuracy ${e["rewards/accuracies"].toFixed(3)}, margin ${e["rewards/margins"]!.toFixed(3)})`
      : "");
  let figures: string;
  if (r.lastEval && r.startEval) figures = `held-out loss ${f(r.startEval)} -> ${f(r.lastEval)}`;
  else if (r.lastEval) figures = `held-out loss ${f(r.lastEval)} (--eval-at-start measures the start too)`;
  else
    figures = `training loss ${r.trainLossStart?.toFixed(4) ?? "-"} -> ${r.trainLossEnd?.toFixed(4) ?? "-"} (means of ${Math.min(SUMMARY_STEPS, trained)} steps; no held-out data)`;
  return `trained ${countOf(trained, "step")}${span} in ${secs} s, ${r.tokensSeen} tokens seen in all: ${figures}; model in ${r.checkpoint}`;
}
