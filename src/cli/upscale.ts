import type { Command } from "commander";
import { parseDType } from "../checkpoint/dtype.js";
import { describeLayerMap } from "../surgery/layerPlan.js";
import { countOf, formatCount } from "../formatCount.js";
import { upscale, type UpscaleOptions } from "../surgery/upscale.js";
import { ggufJob, upscaleGguf } from "../surgery/upscaleGguf.js";
import { parseByteSize, parseCount } from "./parseOptions.js";
import { byteProgress, progress as tokenProgress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";
import { measuringOptions, seamOptions } from "./seam.js";
import { checkOutputTarget } from "../checkpoint/atomicOutput.js";
import { UsageError } from "../errors.js";
import { measureSeam, type SeamReport } from "../eval/seam/measureSeam.js";
import { describePlan } from "../eval/seam/seamReport.js";
import { seamRecipeDoc } from "../eval/seam/seamRecipe.js";

interface Flags {
  out?: string;
  method?: string;
  drop?: string;
  layers?: string;
  blocks?: string;
  recipe?: string;
  dtype?: string;
  shardSize: string;
  force?: boolean;
  allowNonfinite?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
  data?: string;
  tokens: string;
  size?: string;
  context?: string;
  batch?: string;
  ext?: string;
}

export function registerUpscale(program: Command): void {
  const cmd = program
    .command("upscale")
    .description("grow a model: depth up-scaling (default), block expansion, or a passthrough recipe")
    .argument(
      "[model]",
      "base model folder, GGUF file, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
    )
    .option(
      "-o, --out <dir>",
      "output model folder, or .gguf file for a GGUF model (required unless --dry-run)",
    )
    .option("--method <name>", "dus (depth up-scaling) or expand (LLaMA Pro block expansion) (default: dus)")
    .option(
      "--drop <m>",
      "DUS: layers dropped at the seam from each copy (default n/4); auto: measure the seam on --data (as deepen seam) and cut where it recommends",
    )
    .option("--layers <s>", "DUS: target depth 2(n - m); derives --drop")
    .option("--blocks <k>", "expand: identity blocks to insert, one after every n/k layers")
    .option("--recipe <file>", "mergekit-style passthrough YAML (slices -> sources -> layer_range)")
    .option("--dtype <type>", "output dtype: bf16, f16 or f32 (default: as the input)")
    .option("--shard-size <size>", "maximum shard size", "5GB")
    .option("--force", "replace an existing output folder")
    .option(
      "--allow-nonfinite",
      "write scaled or converted tensors that hold Inf or NaN (by default it stops at the first)",
    )
    .option("--dry-run", "print the layer map and parameter count; write nothing")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print stack traces on errors");
  measuringOptions(cmd, true).action(async (model: string | undefined, f: Flags) => {
    await runCommand(!!f.verbose, async () => {
      let progress: Progress | undefined;
      const started = Date.now();
      const auto = f.drop === "auto";
      const opts: UpscaleOptions = {
        model,
        recipe: f.recipe,
        out: f.out,
        method: f.method as "dus" | "expand" | undefined,
        drop: f.drop === undefined || auto ? undefined : parseCount(f.drop, "--drop"),
        layers: f.layers === undefined ? undefined : parseCount(f.layers, "--layers"),
        blocks: f.blocks === undefined ? undefined : parseCount(f.blocks, "--blocks"),
        dtype: f.dtype === undefined ? undefined : parseDType(f.dtype),
        shardBytes: parseByteSize(f.shardSize, "--shard-size"),
        force: f.force,
        allowNonFinite: f.allowNonfinite,
        dryRun: f.dryRun,
        command: ["deepen", ...process.argv.slice(2)].join(" "),
        onStart: (total) => (progress = byteProgress("writing", total, !!f.json)),
        onProgress: (done) => progress?.update(done),
      };
      if (!auto && [f.data, f.size, f.context, f.batch].some((x) => x !== undefined))
        throw new UsageError("--data, --size, --context and --batch go with --drop auto");
      const seam = auto ? await chooseCut(model, f, opts) : undefined;
      // A GGUF model (or a recipe of GGUF models) is up-scaled into one GGUF file.
      const gguf = await ggufJob(opts);
      const result = gguf ? await upscaleGguf(gguf) : await upscale(opts);
      progress?.stop();
      const seconds = (Date.now() - started) / 1000;
      const names = result.lineage.sources.map((s) => s.name);
      const layerMap = describeLayerMap(result.plan, names);
      if (f.json) {
        const out = {
          output: f.dryRun ? null : f.out,
          dry_run: !!f.dryRun,
          method: result.plan.method,
          sources: result.lineage.sources,
          layers: result.layers,
          parameters: result.parameters,
          bytes: result.bytes,
          layer_map: result.lineage.layer_map,
          new_layers: result.plan.newLayers,
          warnings: result.warnings,
          ...(seam && {
            seam: {
              data: seam.data,
              tokens: seam.tokens,
              measure: "angular distance arccos(cos)/pi between the hidden states the seam joins",
              a: seam.recommended.a,
              b: seam.recommended.b,
              m: seam.recommended.m ?? null,
              distance: seam.recommended.distance,
            },
          }),
          seconds,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + "\n");
        return;
      }
      const src = result.lineage.sources[0]!;
      const lines = [
        ...(seam
          ? [
              `seam measured on ${seam.tokens} tokens of ${seam.data} (angular distance between the hidden states the seam joins): ${describePlan(seam.recommended, seam.layers)}`,
            ]
          : []),
        `${names[0]} (${src.architecture}, ${countOf(src.layers, "layer")}) -> ${countOf(result.layers, "layer")}, ` +
          `${formatCount(result.parameters)} parameters (${result.parameters}), ${(result.bytes / 1e9).toFixed(2)} GB`,
        "layer map (output <- source):",
        ...layerMap.map((l) => `  ${l}`),
      ];
      // Notes are for the person at the terminal: stderr, so stdout stays the result.
      for (const w of result.warnings) process.stderr.write(`note: ${w}\n`);
      if (f.dryRun) lines.push("dry run: nothing written");
      else
        lines.push(
          `wrote ${f.out} in ${seconds.toFixed(1)} s (${(result.bytes / 1e6 / Math.max(seconds, 1e-3)).toFixed(0)} MB/s)`,
        );
      process.stdout.write(lines.join("\n") + "\n");
    });
  });
}

/**
 * --drop auto: measures the seam (as `deepen seam`) and sets `opts` to the recommended plan, DUS
 * with its m where it is symmetric, otherwise the two-slice passthrough recipe `seam -o` writes.
 */
async function chooseCut(model: string | undefined, f: Flags, opts: UpscaleOptions): Promise<SeamReport> {
  if (model === undefined || f.recipe !== undefined)
    throw new UsageError("--drop auto measures a base model: name its folder (not --recipe)");
  if (f.method !== undefined && f.method !== "dus") throw new UsageError("--drop auto is for --method dus");
  if (f.layers !== undefined)
    throw new UsageError("--drop auto takes the depth as --size (any two-slice depth), not --layers");
  if (f.data === undefined)
    throw new UsageError(
      "--drop auto needs --data: the text to measure the seam on (a file, folder or embedded:heldout)",
    );
  if (!f.dryRun && f.out !== undefined) checkOutputTarget(f.out, { force: f.force, inputs: [model] });
  let bar: Progress | undefined;
  const r = await measureSeam(model, {
    ...seamOptions(f),
    data: f.data,
    onProgress: (done, total) => {
      bar ??= barFor(total, !!f.json);
      bar.update(done);
    },
  });
  bar?.stop();
  const p = r.recommended;
  opts.chosenBy = {
    command: "deepen seam",
    data: r.data,
    tokens: r.tokens,
    context: r.context,
    measure:
      "angular distance arccos(cos)/pi between boundaries a and b (what layer a-1 outputs, what layer b expects)",
    a: p.a,
    b: p.b,
    distance: p.distance,
    ...(p.versusSymmetric && { versus_symmetric: p.versusSymmetric }),
  };
  if (p.symmetric) opts.drop = p.m;
  else {
    opts.model = undefined;
    opts.method = undefined;
    opts.recipe = {
      file: `${model} (deepen seam's recommended plan)`,
      doc: seamRecipeDoc(model, r.layers, p),
    };
  }
  return r;
}

const barFor = (total: number, quiet: boolean) =>
  tokenProgress("measuring", total, { unit: "tokens", quiet });
