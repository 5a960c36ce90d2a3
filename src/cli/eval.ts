import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { skippedNote } from "../data/corpus.js";
import { perplexityOfText } from "../eval/perplexityOfText.js";
import { MATH_MAX_TOKENS, mathAccuracy } from "../eval/mathAccuracy.js";
import { snakeCaseKeys } from "../report/snakeCaseKeys.js";
import { builtinTemplate } from "../tokenizer/builtinTemplates.js";
import { parseDevice } from "./deviceOption.js";
import { EXT_HELP, parseCount, parseExtensions } from "./parseOptions.js";
import { progress, type Progress } from "./progress.js";
import { MATH_BATCH } from "../eval/mathAccuracy.js";
import { evaluateTasks, harnessJson, parseTaskArg, suiteRequests } from "../eval/tasks/evaluateTasks.js";
import { taskTable } from "../eval/tasks/taskTable.js";
import { builtinTaskNames } from "../eval/tasks/taskSpec.js";
import { runCommand } from "./run.js";

interface Flags {
  perplexity?: string;
  math?: string;
  task?: string[];
  suite?: string;
  dataDir?: string;
  shots?: string;
  seed: string;
  fewshotData?: string;
  logSamples?: string;
  addBos?: boolean;
  sharedContext: boolean;
  tokensPerRun: string;
  skipMissing?: boolean;
  limit?: string;
  template?: string;
  maxTokens?: string;
  context?: string;
  stride?: string;
  batch: string;
  ext?: string;
  device: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command("eval")
    .description(
      "evaluate a model: benchmark tasks as lm-evaluation-harness scores them (--task, --suite h6|tiny), perplexity (--perplexity DATA), or exact match on math problems (--math FILE)",
    )
    .argument(
      "<model>",
      "model folder, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
    )
    .option(
      "--perplexity <data>",
      "text/JSONL file, folder, or embedded:heldout to score (each document on its own, tokenized as the model's tokenizer does)",
    )
    .option(
      "--math <file>",
      'math problems in messages form ending in "#### N" (deepen data math\'s test.jsonl): greedy answers, exact match per level',
    )
    .option(
      "--task <spec...>",
      `a task and its data, NAME=PATH (built-in: ${builtinTaskNames().join(", ")}) or FILE.yaml=PATH; a tiny task by NAME alone`,
    )
    .option(
      "--suite <name>",
      "h6 (the Open LLM Leaderboard v1's six, files from --data-dir) or tiny (no download)",
    )
    .option(
      "--data-dir <dir>",
      "with --suite h6: where the benchmark files are (see the README for the layouts)",
    )
    .option("--skip-missing", "with --suite: run the tasks whose files are found, say which are not")
    .option("--shots <k>", "few-shot examples per question, for every task (default: each task's own)")
    .option("--seed <n>", "few-shot sampling seed", "1234")
    .option("--fewshot-data <path>", "with one --task: the file few-shot examples are drawn from")
    .option("--log-samples <dir>", "write every scored document to DIR/TASK.jsonl")
    .option("--add-bos", "put BOS before every context (off, as in lm-evaluation-harness)")
    .option("--no-shared-context", "score each choice in its own row instead of once per question")
    .option("--tokens-per-run <n>", "tokens per batched forward when scoring choices", "2048")
    .option("--limit <n>", "the first n documents of each task (--math: problems)")
    .option(
      "--template <name>",
      "with --math: a built-in chat template, for a model without its own (a base model)",
    )
    .option("--max-tokens <n>", `with --math: answer tokens at most (default ${MATH_MAX_TOKENS})`)
    .option(
      "--context <n>",
      "longest sequence in tokens: --perplexity's window, --task's scoring length (default: the model's, at most 4096)",
    )
    .option("--stride <s>", "tokens the window advances by (default: context / 2)")
    .option("--batch <b>", "windows per run", "1")
    .option("--ext <list>", EXT_HELP)
    .option("--device <name>", "cpu, cuda or webgpu", "cpu")
    .option(
      "--json",
      'print JSON: tasks in lm-evaluation-harness\'s results shape; perplexity as {"documents", "tokens", "nll", "perplexity"} (nll: mean per token, nats); math as {"exact_match", "per_level", …}',
    )
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        const modes = [f.math, f.perplexity, f.task ?? f.suite].filter((x) => x !== undefined);
        if (modes.length > 1) throw new UsageError("give one of --task/--suite, --perplexity, --math");
        if (f.math) return evalMath(model, f.math, f);
        if (f.task || f.suite) return evalTasks(model, f);
        if (!f.perplexity)
          throw new UsageError(
            "say what to evaluate: --task NAME=PATH, --suite h6|tiny, --perplexity DATA or --math FILE",
          );
        let bar: Progress | undefined;
        const skipped: string[] = [];
        const r = await perplexityOfText(model, f.perplexity, {
          context: f.context === undefined ? undefined : parseCount(f.context, "--context"),
          stride: f.stride === undefined ? undefined : parseCount(f.stride, "--stride"),
          batch: parseCount(f.batch, "--batch"),
          extensions: parseExtensions(f.ext),
          onSkip: (p) => skipped.push(p),
          device: parseDevice(f.device),
          onProgress: (done, total) => {
            bar ??= progress("scoring", total, { unit: "tokens", quiet: !!f.json });
            bar.update(done);
          },
        });
        bar?.stop();
        if (skipped.length > 0) process.stderr.write(skippedNote(skipped, parseExtensions(f.ext)) + "\n");
        if (f.json)
          process.stdout.write(
            JSON.stringify({
              documents: r.documents,
              tokens: r.tokens,
              nll: r.nll,
              perplexity: r.perplexity,
            }) + "\n",
          );
        else
          process.stdout.write(
            `${r.documents > 1 ? `documents ${r.documents}, ` : ""}tokens ${r.tokens}, mean NLL ${r.nll.toFixed(4)}, perplexity ${r.perplexity.toFixed(3)}\n`,
          );
      });
    });
}

async function evalMath(model: string, file: string, f: Flags): Promise<void> {
  let bar: Progress | undefined;
  const r = await mathAccuracy(model, file, {
    limit: f.limit === undefined ? undefined : parseCount(f.limit, "--limit"),
    template: f.template === undefined ? undefined : builtinTemplate(f.template),
    maxTokens: f.maxTokens === undefined ? undefined : parseCount(f.maxTokens, "--max-tokens"),
    device: parseDevice(f.device),
    onProgress: (done, total) => {
      bar ??= progress("answering", total, { unit: "problems", quiet: !!f.json });
      bar.update(done);
    },
  });
  bar?.stop();
  if (f.json) {
    process.stdout.write(JSON.stringify(snakeCaseKeys(r)) + "\n");
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const lines = Object.entries(r.perLevel)
    .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))
    .map(([level, l]) => `  level ${level}: ${pct(l.exactMatch)} (${l.correct}/${l.problems})`);
  process.stdout.write(
    `exact match ${pct(r.exactMatch)} (${r.correct}/${r.problems})${r.noAnswer ? `; ${r.noAnswer} answers had no "#### N"` : ""}\n${lines.join("\n")}\n`,
  );
}

async function evalTasks(model: string, f: Flags): Promise<void> {
  const note = (m: string) => process.stderr.write(m + "\n");
  const requests = [
    ...(f.task ?? []).map(parseTaskArg),
    ...(f.suite ? suiteRequests(f.suite, f.dataDir, !!f.skipMissing, note) : []),
  ];
  if (f.fewshotData && requests.length !== 1)
    throw new UsageError("--fewshot-data goes with a single --task");
  const shots = f.shots === undefined ? undefined : parseCount(f.shots, "--shots");
  const seed = parseCount(f.seed, "--seed");
  const limit = f.limit === undefined ? undefined : positive(f.limit, "--limit");
  let bar: Progress | undefined;
  const started = Date.now();
  const r = await evaluateTasks(model, requests, {
    limit,
    shots,
    seed,
    tokensPerRun: positive(f.tokensPerRun, "--tokens-per-run"),
    shared: f.sharedContext,
    genBatch: MATH_BATCH,
    fewshotData: f.fewshotData,
    logSamples: f.logSamples,
    addBos: f.addBos,
    maxLength: f.context === undefined ? undefined : positive(f.context, "--context"),
    device: parseDevice(f.device),
    onTaskStart: () => {
      bar?.stop();
      bar = undefined;
    },
    onProgress: (task, done, total) => {
      bar ??= progress(task, total, { unit: "docs", quiet: !!f.json });
      bar.update(done);
    },
  });
  bar?.stop();
  const seconds = (Date.now() - started) / 1000;
  if (f.json) {
    const config = {
      suite: f.suite,
      limit: limit ?? null,
      seed,
      shots: shots ?? "per task",
      add_bos: !!f.addBos,
      seconds,
    };
    process.stdout.write(JSON.stringify(harnessJson(r, config), null, 2) + "\n");
    return;
  }
  process.stdout.write(taskTable(r) + "\n");
}

function positive(value: string, option: string): number {
  const n = parseCount(value, option);
  if (n === 0) throw new UsageError(`${option} 0: must be at least 1`);
  return n;
}
