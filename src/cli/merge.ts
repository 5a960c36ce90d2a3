import type { Command } from "commander";
import { mergeModels } from "../merge/mergeModels.js";
import { countOf, formatCount } from "../formatCount.js";
import { parseByteSize, parseCount } from "./parseOptions.js";
import { byteProgress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

interface Flags {
  out?: string;
  seed: string;
  shardSize: string;
  force?: boolean;
  allowNonfinite?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerMerge(program: Command): void {
  program
    .command("merge")
    .description(
      "merge models from a mergekit YAML config (linear, slerp, ties, dare, della, model_stock, …)",
    )
    .argument("<config>", "mergekit-style YAML")
    .option("-o, --out <dir>", "output model folder (required unless --dry-run)")
    .option("--seed <n>", "seed for DARE and DELLA's random pruning", "0")
    .option("--shard-size <size>", "maximum shard size", "5GB")
    .option("--force", "replace an existing output folder")
    .option(
      "--allow-nonfinite",
      "write tensors that hold Inf or NaN (by default the merge stops at the first, naming it)",
    )
    .option("--dry-run", "check the config and print what would be written")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (config: string, f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        let progress: Progress | undefined;
        const started = Date.now();
        const r = await mergeModels(config, {
          out: f.out,
          seed: parseCount(f.seed, "--seed"),
          shardBytes: parseByteSize(f.shardSize, "--shard-size"),
          force: f.force,
          allowNonFinite: f.allowNonfinite,
          dryRun: f.dryRun,
          command: ["deepen", ...process.argv.slice(2)].join(" "),
          onStart: (total) => (progress = byteProgress("merging", total, !!f.json)),
          onProgress: (done) => progress?.update(done),
        });
        progress?.stop();
        const seconds = (Date.now() - started) / 1000;
        if (f.json) {
          process.stdout.write(
            JSON.stringify({ output: f.dryRun ? null : f.out, dry_run: !!f.dryRun, ...r, seconds }, null, 2) +
              "\n",
          );
          return;
        }
        process.stdout.write(
          `${r.method} of ${r.models.join(", ")} -> ${countOf(r.layers, "layer")}, ${formatCount(r.parameters)} parameters, ${(r.bytes / 1e9).toFixed(2)} GB\n` +
            r.warnings.map((w) => `note: ${w}\n`).join("") +
            (f.dryRun ? "dry run: nothing written\n" : `wrote ${f.out} in ${seconds.toFixed(1)} s\n`),
        );
      });
    });
}
