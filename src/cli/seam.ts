import type { Command } from "commander";
import { skippedNote } from "../data/corpus.js";
import { DEFAULT_SEAM_TOKENS, measureSeam, SEAM_TOKENS_PER_RUN } from "../eval/seam/measureSeam.js";
import { seamJson, seamTable, writeSeamReport } from "../eval/seam/seamReport.js";
import { checkOutputTarget } from "../checkpoint/atomicOutput.js";
import { parseDevice } from "./deviceOption.js";
import { EXT_HELP, parseCount, parseExtensions } from "./parseOptions.js";
import { progress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";
import { UsageError } from "../errors.js";

interface Flags {
  data?: string;
  tokens: string;
  size?: string;
  context?: string;
  batch?: string;
  ext?: string;
  out?: string;
  force?: boolean;
  device: string;
  json?: boolean;
  verbose?: boolean;
}

/** The options seam and upscale --drop auto share: the sample and the depth. */
export function seamOptions(
  f: Pick<Flags, "data" | "tokens" | "size" | "context" | "batch" | "ext"> & { device?: string },
) {
  return {
    tokens: parseCount(f.tokens, "--tokens"),
    size: f.size === undefined ? undefined : parseCount(f.size, "--size"),
    context: f.context === undefined ? undefined : parseCount(f.context, "--context"),
    batch: f.batch === undefined ? undefined : parseCount(f.batch, "--batch"),
    extensions: parseExtensions(f.ext),
    device: f.device === undefined ? undefined : parseDevice(f.device),
  };
}

/** Adds the measuring options to a command (seam, upscale). */
export function measuringOptions(cmd: Command, forUpscale = false): Command {
  const only = forUpscale ? "with --drop auto: " : "";
  return cmd
    .option(
      "--data <data>",
      `${only}text/JSONL file, folder, or embedded:heldout to measure on (as eval --perplexity reads)`,
    )
    .option("--tokens <n>", `${only}tokens to measure, in whole sequences`, String(DEFAULT_SEAM_TOKENS))
    .option(
      "--size <layers>",
      `${only}output depth to recommend a cut for (default: the paper's 1.5x, 2(n - floor(n/4)))`,
    )
    .option("--context <n>", `${only}sequence length (default: as eval, the model's context, at most 4096)`)
    .option("--batch <b>", `${only}sequences per forward run (default: ${SEAM_TOKENS_PER_RUN} tokens' worth)`)
    .option("--ext <list>", EXT_HELP);
}

export function registerSeam(program: Command): void {
  measuringOptions(
    program
      .command("seam")
      .description(
        "measure the layer distance at every DUS seam (angular distance between layer boundaries, Block Influence) and recommend the cut for a depth",
      )
      .argument(
        "<model>",
        "model folder, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
      ),
  )
    .option(
      "-o, --out <dir>",
      "write seam.json, heatmap and Block Influence charts (SVG, PNG) and recipe.yml here",
    )
    .option("--force", "replace an existing report folder")
    .option("--device <name>", "cpu, cuda or webgpu", "cpu")
    .option("--json", "print the report as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        if (f.data === undefined)
          throw new UsageError("missing --data: the text to measure on (a file, folder or embedded:heldout)");
        if (f.out !== undefined) checkOutputTarget(f.out, { force: f.force, inputs: [model] });
        let bar: Progress | undefined;
        const skipped: string[] = [];
        const r = await measureSeam(model, {
          ...seamOptions(f),
          data: f.data,
          onSkip: (p) => skipped.push(p),
          onProgress: (done, total) => {
            bar ??= progress("measuring", total, { unit: "tokens", quiet: !!f.json });
            bar.update(done);
          },
        });
        bar?.stop();
        const asked = seamOptions(f).tokens;
        if (r.tokens + r.context <= asked)
          process.stderr.write(
            `note: ${f.data} ran out after ${r.sequences} sequences of ${r.context}: measured ${r.tokens} tokens of the ${asked} asked for\n`,
          );
        if (skipped.length > 0) process.stderr.write(skippedNote(skipped, parseExtensions(f.ext)) + "\n");
        if (f.out !== undefined) await writeSeamReport(f.out, r, { force: f.force, inputs: [model] });
        if (f.json) process.stdout.write(JSON.stringify(seamJson(r), null, 2) + "\n");
        else process.stdout.write(seamTable(r) + (f.out !== undefined ? `\nwrote ${f.out}` : "") + "\n");
      });
    });
}
