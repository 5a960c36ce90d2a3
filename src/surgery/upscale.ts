import { layerLayout } from "../arch/layerLayout.js";
import { checkOutputTarget } from "../checkpoint/atomicOutput.js";
import type { DType } from "../checkpoint/dtype.js";
import { openModelFolder } from "../checkpoint/modelFolder.js";
import { UsageError } from "../errors.js";
import type { YamlFile } from "../mergekit/mergekitYaml.js";
import type { LayerPlan, StackLayout } from "./layerPlan.js";
import { planDus } from "./planDus.js";
import { planExpand } from "./planExpand.js";
import { warnOnStderr } from "../mergekit/unusedParameters.js";
import { FOLDER_SOURCES, planRecipeFrom, type RecipeSources } from "./planRecipe.js";
import { type PlanSummary, summarizePlan, writePlan, type WritePlanOptions } from "./writePlan.js";

export interface UpscaleOptions extends WritePlanOptions {
  /** Told of each recipe parameter passthrough ignores (default: stderr). */
  onWarning?: (warning: string) => void;
  /** The base model folder (not with recipe). */
  model?: string;
  /** A mergekit-style passthrough recipe (not with model): its file, or the file already read. */
  recipe?: string | YamlFile;
  method?: "dus" | "expand";
  drop?: number;
  layers?: number;
  blocks?: number;
  dtype?: DType;
  /** Output folder; required unless dryRun. */
  out?: string;
  dryRun?: boolean;
  /** How the cut was chosen (deepen seam's measurement, for --drop auto): kept in the recipe record. */
  chosenBy?: Record<string, unknown>;
}

export interface UpscaleResult extends PlanSummary {
  plan: LayerPlan;
}

/** Builds the layer plan the options describe, reading only headers and configs. */
export async function buildPlan(opts: UpscaleOptions): Promise<LayerPlan> {
  return buildPlanWith(opts, async (path) => layerLayout(await openModelFolder(path)), FOLDER_SOURCES);
}

/** buildPlan over models of one format: `open` reads the base model, `sources` a recipe's models. */
export async function buildPlanWith<M extends StackLayout>(
  opts: UpscaleOptions,
  open: (path: string) => Promise<M>,
  sources: RecipeSources<M>,
): Promise<LayerPlan<M>> {
  const method = opts.method ?? "dus";
  if (opts.recipe !== undefined) {
    if (opts.model !== undefined) throw new UsageError("give a model folder or --recipe, not both");
    if (
      opts.method !== undefined ||
      opts.drop !== undefined ||
      opts.layers !== undefined ||
      opts.blocks !== undefined
    ) {
      throw new UsageError(
        "--recipe describes the whole layer stack: --method, --drop, --layers and --blocks do not apply",
      );
    }
    return planRecipeFrom(
      opts.recipe,
      { dtype: opts.dtype, onWarning: opts.onWarning ?? warnOnStderr },
      sources,
    );
  }
  if (opts.model === undefined) throw new UsageError("name a model folder to up-scale (or --recipe FILE)");
  if (method === "expand") {
    if (opts.drop !== undefined || opts.layers !== undefined)
      throw new UsageError("--drop and --layers are for --method dus");
    if (opts.blocks === undefined) throw new UsageError("--method expand needs --blocks K");
  } else if (method === "dus") {
    if (opts.blocks !== undefined) throw new UsageError("--blocks is for --method expand");
  } else {
    throw new UsageError(`--method ${String(method)}: expected dus or expand`);
  }
  const layout = await open(opts.model);
  return method === "expand"
    ? planExpand(layout, opts.blocks!, opts.dtype)
    : planDus(layout, { drop: opts.drop, layers: opts.layers, dtype: opts.dtype });
}

/** `deepen upscale`: build the plan and write it (or, with dryRun, only describe it). */
export async function upscale(opts: UpscaleOptions): Promise<UpscaleResult> {
  if (!opts.dryRun) {
    if (opts.out === undefined) throw new UsageError("missing -o/--out: where to write the up-scaled model");
    // A folder named x.gguf would look like a result it is not.
    if (/\.gguf$/i.test(opts.out)) {
      throw new UsageError(
        `-o ${opts.out}: the input is a model folder, so the output is one too; up-scale to a folder, then \`deepen export gguf\` it`,
      );
    }
    const inputs = opts.model !== undefined ? [opts.model] : [];
    checkOutputTarget(opts.out, { force: opts.force, inputs });
  }
  const plan = await buildPlan(opts);
  if (opts.chosenBy) plan.recipe = { ...plan.recipe, chosen_by: opts.chosenBy };
  const summary = opts.dryRun ? await summarizePlan(plan) : await writePlan(plan, opts.out!, opts);
  return { ...summary, plan };
}
