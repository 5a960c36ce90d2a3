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
import { runCommand } from "./run.js";

interface Flags {
  perplexity?: string;
  math?: string;
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
      "evaluate a model: --perplexity DATA scores texts with a sliding window; --math FILE measures exact match on math problems",
    )
    .argument("<model>", "model folder, models--ORG--NAME cache folder, or cached ORG/NAME")
    .option(
      "--perplexity <data>",
      "text/JSONL file, folder, or embedded:heldout to score (each document on its own, tokenized as the model's tokenizer does)",
    )
    .option(
      "--math <file>",
      'math problems in messages form ending in "#### N" (deepen data math\'s test.jsonl): greedy answers, exact match per level',
    )
    .option("--limit <n>", "with --math: the first n problems only")
    .option(
      "--template <name>",
      "with --math: a built-in chat template, for a model without its own (a base model)",
    )
    .option("--max-tokens <n>", `with --math: answer tokens at most (default ${MATH_MAX_TOKENS})`)
    .option("--context <n>", "window length in tokens (default: the model's context, at most 4096)")
    .option("--stride <s>", "tokens the window advances by (default: context / 2)")
    .option("--batch <b>", "windows per run", "1")
    .option("--ext <list>", EXT_HELP)
    .option("--device <name>", "cpu, cuda or webgpu", "cpu")
    .option(
      "--json",
      'print {"documents", "tokens", "nll", "perplexity"} as JSON (nll: mean per token, nats)',
    )
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        if (f.math && f.perplexity) throw new UsageError("give --perplexity or --math, not both");
        if (f.math) return evalMath(model, f.math, f);
        if (!f.perplexity) throw new UsageError("say what to evaluate: --perplexity DATA or --math FILE");
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
