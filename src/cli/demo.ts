import type { Command } from "commander";
import cliProgress from "cli-progress";
import { DEFAULT_LR, DEFAULT_STEPS, HEAL_DATA, REPORT_FILES, runDemo } from "../demo/runDemo.js";
import { demoTable } from "../demo/demoSummary.js";
import { parseCount, parseNumber } from "./parseOptions.js";
import { snakeCaseKeys } from "../report/snakeCaseKeys.js";
import { runCommand } from "./run.js";

interface Flags {
  out: string;
  model?: string;
  steps: string;
  seed: string;
  seeds: string;
  lr: string;
  healData: string;
  healEval?: string;
  quick?: boolean;
  ablation?: boolean;
  force?: boolean;
  cacheDir?: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "the SOLAR recipe in minutes: up-scale deepen-tiny 8 -> 12 layers, heal it, compare with the base",
    )
    .option("-o, --out <dir>", "report folder", "demo-report")
    .option("--model <dir>", "base model (default: the embedded deepen-tiny)")
    .option("--steps <k>", "training steps of each run", String(DEFAULT_STEPS))
    .option("--seed <n>", "data order seed (the same batches for every run)", "0")
    .option("--seeds <n>", "repeat every run with seeds seed … seed+n-1 and report mean and spread", "1")
    .option("--lr <x>", "peak learning rate (cosine to a tenth of it)", String(DEFAULT_LR))
    .option(
      "--heal-data <path>",
      "text both models heal on (embedded:train is what deepen-tiny was trained on)",
      HEAL_DATA,
    )
    .option("--heal-eval <path>", "held-out text (default: the held-out part of an embedded --heal-data)")
    .option("--quick", "a small sample of the corpus and short sequences (seconds; for CI)")
    .option("--ablation", "add the naive repeat (m = 0), a 12-layer model from scratch and block expansion")
    .option("--force", "replace an existing report folder")
    .option("--cache-dir <dir>", "token cache (default $DEEPEN_CACHE or ~/.cache/deepen)")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        const steps = parseCount(f.steps, "--steps");
        const tty = process.stderr.isTTY && !f.json;
        let bar: cliProgress.SingleBar | undefined;
        let offset = 0;
        let runSteps = 0;
        const result = await runDemo({
          out: f.out,
          model: f.model,
          steps,
          seed: parseCount(f.seed, "--seed"),
          seeds: parseCount(f.seeds, "--seeds"),
          lr: parseNumber(f.lr, "--lr"),
          healData: f.healData,
          healEval: f.healEval,
          quick: f.quick,
          ablation: f.ablation,
          force: f.force,
          cacheDir: f.cacheDir,
          command: ["deepen", ...process.argv.slice(2)].join(" "),
          onNote: (m) => process.stderr.write(`${m}\n`),
          onRunStart: (run, i, runs, total) => {
            offset = i * total;
            runSteps = total;
            if (!tty) {
              if (!f.json)
                process.stderr.write(
                  `run ${i + 1}/${runs}: ${run.label}, seed ${run.seed}, ${total} steps\n`,
                );
              return;
            }
            bar ??= new cliProgress.SingleBar(
              {
                format:
                  "demo [{bar}] {percentage}% | run {run} | loss {loss} | {tps} tok/s | ETA {eta_formatted}",
                stream: process.stderr,
                etaBuffer: 100,
              },
              cliProgress.Presets.shades_classic,
            );
            if (i === 0) bar.start(runs * total, 0, { run: "-", loss: "-", tps: "-" });
            bar.update(offset, { run: `${i + 1}/${runs} ${run.key}` });
          },
          onStartEval: (run, perplexity) => {
            if (f.json) return;
            const line = `${run.label}: held-out perplexity ${perplexity.toFixed(2)} at step 0`;
            if (bar) bar.stop();
            process.stderr.write(`${line}\n`);
            if (bar) bar.start(bar.getTotal(), offset, { run: `${run.key}` });
          },
          onStep: (run, rec) => {
            if (bar)
              bar.update(offset + rec.step, { loss: rec.loss.toFixed(3), tps: rec.tokens_per_s.toFixed(0) });
            else if (!f.json && rec.eval_perplexity !== undefined)
              process.stderr.write(
                `  ${run.key} step ${rec.step}/${runSteps}: loss ${rec.loss.toFixed(4)}, held-out perplexity ${rec.eval_perplexity.toFixed(2)}\n`,
              );
          },
        });
        bar?.stop();
        if (f.json) {
          process.stdout.write(JSON.stringify(snakeCaseKeys(result)) + "\n");
          return;
        }
        const out = [
          "",
          ...demoTable(result),
          "",
          result.dusCrossover
            ? `DUS at or ahead of the control at the same step from step ${result.dusCrossover.step}.`
            : `DUS did not catch up with the control within ${steps} steps.`,
          ...(result.settings.quick
            ? [
                "(--quick is a smoke test: its figures say nothing about healing; run without --quick for that)",
              ]
            : []),
          `wrote ${f.out}/: ${REPORT_FILES.summary}, ${REPORT_FILES.plot}, ${REPORT_FILES.plotPng}, ${REPORT_FILES.metrics}, ${REPORT_FILES.result} and ${REPORT_FILES.healed}/ (the healed model) in ${(result.seconds / 60).toFixed(1)} min`,
          "",
        ];
        process.stdout.write(out.join("\n"));
      });
    });
}
