import type { Command } from "commander";
import { checkOutputTarget, withAtomicOutput } from "../checkpoint/atomicOutput.js";
import { UsageError } from "../errors.js";
import { DEFAULT_EXPERTS, DEFAULT_INIT_STD, initModel } from "../nn/initModel.js";
import { countOf, formatCount } from "../formatCount.js";
import { parseCount } from "./parseOptions.js";
import { runCommand } from "./run.js";

interface Flags {
  out?: string;
  tokenizer?: string;
  family: string;
  layers: string;
  hidden: string;
  intermediate: string;
  heads: string;
  kvHeads?: string;
  headDim?: string;
  context: string;
  std: string;
  seed: string;
  experts: string;
  force?: boolean;
  json?: boolean;
  verbose?: boolean;
}

const positive = (v: string, option: string) => {
  const n = parseCount(v, option);
  if (n === 0) throw new UsageError(`${option} 0: must be at least 1`);
  return n;
};

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("write a newly initialised model (to train from scratch) around a tokenizer")
    .requiredOption("-o, --out <dir>", "output model folder (required)")
    .requiredOption(
      "--tokenizer <dir>",
      "folder with tokenizer.json; its vocabulary sets vocab_size (required)",
    )
    .option("--family <name>", "architecture family", "llama")
    .option("--layers <n>", "decoder layers", "8")
    .option("--hidden <n>", "hidden size", "256")
    .option("--intermediate <n>", "MLP intermediate size", "688")
    .option("--heads <n>", "attention heads", "8")
    .option("--kv-heads <n>", "key/value heads (grouped-query attention; default: --heads)")
    .option("--head-dim <n>", "per-head size (default hidden / heads)")
    .option("--context <n>", "max_position_embeddings", "256")
    .option(
      "--experts <n>",
      "experts per layer (mixture-of-experts families: mixtral)",
      String(DEFAULT_EXPERTS),
    )
    .option("--std <x>", "initializer_range: standard deviation of the weights", String(DEFAULT_INIT_STD))
    .option("--seed <n>", "initialisation seed", "0")
    .option("--force", "replace an existing output folder")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        const heads = positive(f.heads, "--heads");
        const hidden = positive(f.hidden, "--hidden");
        const std = Number(f.std);
        if (!(std > 0 && Number.isFinite(std)))
          throw new UsageError(`--std ${f.std}: expected a positive number`);
        if (f.headDim === undefined && hidden % heads !== 0)
          throw new UsageError(`--hidden ${hidden} is not a multiple of --heads ${heads}; give --head-dim`);
        checkOutputTarget(f.out!, { force: f.force, inputs: [f.tokenizer!] });
        const opts = {
          tokenizer: f.tokenizer!,
          family: f.family,
          layers: positive(f.layers, "--layers"),
          dims: {
            hidden,
            intermediate: positive(f.intermediate, "--intermediate"),
            heads,
            kvHeads: f.kvHeads === undefined ? heads : positive(f.kvHeads, "--kv-heads"),
            headDim: f.headDim === undefined ? hidden / heads : positive(f.headDim, "--head-dim"),
          },
          context: positive(f.context, "--context"),
          experts: positive(f.experts, "--experts"),
          std,
          seed: parseCount(f.seed, "--seed"),
        };
        const r = await withAtomicOutput(f.out!, { force: f.force }, (tmp) => initModel(tmp, opts));
        if (f.json) process.stdout.write(JSON.stringify({ out: f.out, ...r }) + "\n");
        else
          process.stdout.write(
            `wrote ${f.out}: ${f.family}, ${countOf(opts.layers, "layer")}, vocab ${r.vocab}, ${formatCount(r.parameters)} parameters (N(0, ${std}²) weights)\n`,
          );
      });
    });
}
