import type { Command } from "commander";
import { parseDType } from "../checkpoint/dtype.js";
import { mergeLora } from "../checkpoint/lora/mergeLora.js";
import { countOf, formatCount } from "../formatCount.js";
import { parseByteSize } from "./parseOptions.js";
import { byteProgress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

interface MergeFlags {
  out: string;
  dtype: string;
  shardSize: string;
  force?: boolean;
  allowNonfinite?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerLora(program: Command): void {
  const lora = program.command("lora").description("PEFT LoRA adapters");
  lora
    .command("merge")
    .description(
      "merge a PEFT LoRA adapter into its base model's weights (W + s·B·A), writing a plain model folder",
    )
    .argument(
      "<model>",
      "base model folder, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
    )
    .argument(
      "<adapter>",
      "PEFT adapter folder (adapter_config.json, adapter_model.safetensors), or Hub id ORG/NAME[@REV]",
    )
    .requiredOption("-o, --out <dir>", "output model folder (required)")
    .option("--dtype <type>", "output dtype: auto (each tensor's own), float32, bfloat16 or float16", "auto")
    .option("--shard-size <size>", "maximum shard size", "5GB")
    .option("--force", "replace an existing output folder")
    .option(
      "--allow-nonfinite",
      "write updated tensors that hold Inf or NaN (by default the merge stops at the first, naming it)",
    )
    .option("--json", "print the result as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, adapter: string, f: MergeFlags) => {
      await runCommand(!!f.verbose, async () => {
        let progress: Progress | undefined;
        const started = Date.now();
        const r = await mergeLora(model, adapter, f.out, {
          dtype: f.dtype === "auto" ? undefined : parseDType(f.dtype),
          shardBytes: parseByteSize(f.shardSize, "--shard-size"),
          force: f.force,
          allowNonFinite: f.allowNonfinite,
          command: ["deepen", ...process.argv.slice(2)].join(" "),
          onStart: (total) => (progress = byteProgress("merging", total, !!f.json)),
          onProgress: (done) => progress?.update(done),
        });
        progress?.stop();
        const seconds = (Date.now() - started) / 1000;
        if (f.json) {
          process.stdout.write(JSON.stringify({ output: f.out, ...r, seconds }, null, 2) + "\n");
          return;
        }
        const scale = r.scales.length
          ? `scale ${r.scales.map((s) => +s.toPrecision(6)).join(", ")}`
          : "no low-rank updates";
        const replaced = r.replaced ? `, ${countOf(r.replaced, "tensor")} replaced` : "";
        process.stdout.write(
          `${r.adapter} into ${r.model}: ${countOf(r.modules, "module")} changed${replaced}, ${scale}, ` +
            `${formatCount(r.parameters)} parameters; wrote ${f.out} in ${seconds.toFixed(1)} s\n`,
        );
      });
    });
}
