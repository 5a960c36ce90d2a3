import type { Command } from "commander";
import { isRepoId } from "../checkpoint/hub/cacheLayout.js";
import { downloadModel } from "../checkpoint/hub/downloadModel.js";
import type { ProgressListener } from "../checkpoint/hub/downloadProgress.js";
import { parseModelRef } from "../checkpoint/modelRef.js";
import { UsageError } from "../errors.js";
import { byteProgress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

interface Flags {
  include?: string[];
  revision?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/** A download's reports as the byte progress every command shows on stderr (nothing when `quiet`). */
export function downloadBar(quiet: boolean): ProgressListener {
  let bar: Progress | undefined;
  return (p) => {
    bar ??= byteProgress(`downloading ${p.repo}`, p.total, quiet);
    bar.update(p.done);
    if (p.finished) {
      bar.stop();
      bar = undefined;
    }
  };
}

export function registerDownload(program: Command): void {
  program
    .command("download")
    .description(
      "fetch a model from the Hugging Face Hub into its cache (config, tokenizer, safetensors) and print its snapshot folder",
    )
    .argument("<model>", "Hub id ORG/NAME[@REV]")
    .option("--revision <rev>", "branch, tag or commit (instead of @REV; default main)")
    .option(
      "--include <glob...>",
      "also fetch files matching these patterns (as huggingface-cli: * matches /), e.g. '*.gguf'",
    )
    .option("--quiet", "no progress on stderr")
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        const ref = parseModelRef(model);
        if (!isRepoId(ref.path)) throw new UsageError(`${model}: not a Hub model id (ORG/NAME[@REV])`);
        if (ref.adapter) throw new UsageError(`${model}: download the model and the adapter one at a time`);
        if (ref.revision && f.revision && ref.revision !== f.revision)
          throw new UsageError(`${model}: revision @${ref.revision} and --revision ${f.revision} disagree`);
        const r = await downloadModel(ref.path, {
          revision: f.revision ?? ref.revision,
          include: f.include,
          onProgress: downloadBar(!!f.quiet),
        });
        process.stdout.write(`${r.dir}\n`);
      });
    });
}
