import type { Command } from "commander";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { OutputError } from "../errors.js";
import { withAtomicOutput } from "../checkpoint/atomicOutput.js";
import { describeLayerMap } from "../surgery/layerPlan.js";
import { formatCount } from "../surgery/modelCard.js";
import { upscale } from "../surgery/upscale.js";
import { writeSyntheticModel } from "../synthetic/syntheticModel.js";
import { runCommand } from "./run.js";

/**
 * The main job until the embedded default model exists: write a small Llama-shaped checkpoint and
 * up-scale it with the paper's recipe, so a fresh machine sees the whole flow in seconds.
 */
export function registerExample(program: Command): void {
  program
    .command("example")
    .description("write a small random Llama checkpoint and up-scale it 8 -> 12 layers by DUS")
    .option("--out <dir>", "folder for the example", "example")
    .option("--force", "replace an existing example folder")
    .option("--verbose", "print stack traces on errors")
    .action(async (f: { out: string; force?: boolean; verbose?: boolean }) => {
      await runCommand(!!f.verbose, async () => {
        const base = join(f.out, "base");
        const grown = join(f.out, "upscaled");
        if (existsSync(f.out) && !f.force)
          throw new OutputError(`output ${f.out} exists; pass --force to replace it`);
        await rm(f.out, { recursive: true, force: true });
        // Each step writes atomically into its final place, so the lineage records real paths.
        await withAtomicOutput(base, {}, (tmp) =>
          writeSyntheticModel(tmp, {
            family: "llama",
            layers: 8,
            dims: { hidden: 256, intermediate: 688, heads: 8, kvHeads: 4, headDim: 32, vocab: 4096 },
          }),
        );
        const r = await upscale({ model: base, out: grown, command: `deepen upscale ${base} -o ${grown}` });
        process.stdout.write(
          `base: ${base} (LlamaForCausalLM, 8 layers, random weights)\n` +
            `deepen upscale ${base} -o ${grown}\n` +
            `  -> ${r.layers} layers, ${formatCount(r.parameters)} parameters; layer map:\n` +
            describeLayerMap(r.plan, ["base"])
              .map((l) => `     ${l}`)
              .join("\n") +
            "\n",
        );
        process.stdout.write(`wrote ${f.out}/; next: deepen inspect ${grown}\n`);
      });
    });
}
