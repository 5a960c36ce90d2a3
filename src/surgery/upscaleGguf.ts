import type { GgufLayout } from "../arch/ggufLayout.js";
import { looksLikeGguf } from "../checkpoint/gguf/readGguf.js";
import { UsageError } from "../errors.js";
import { ggufLayerKindWarnings } from "./ggufLayerKinds.js";
import { GGUF_SOURCES, openGgufLayout } from "./ggufSources.js";
import type { LayerPlan } from "./layerPlan.js";
import { firstRecipeModel, readRecipe } from "./planRecipe.js";
import { buildPlanWith, type UpscaleOptions } from "./upscale.js";
import { checkGgufTarget, type GgufPlanSummary, summarizeGgufPlan, writeGgufPlan } from "./writeGgufPlan.js";

export interface GgufUpscaleResult extends GgufPlanSummary {
  plan: LayerPlan<GgufLayout>;
  /** Size of the written file (absent for a dry run). */
  fileBytes?: number;
}

/**
 * The options again (with the recipe read) when the job is on GGUF files: the model is one, or the
 * recipe's first model is; undefined for model folders. A recipe's other models must then be GGUF too.
 */
export async function ggufJob(opts: UpscaleOptions): Promise<UpscaleOptions | undefined> {
  if (opts.model !== undefined && opts.recipe === undefined)
    return (await looksLikeGguf(opts.model)) ? opts : undefined;
  if (opts.recipe === undefined || opts.model !== undefined) return undefined;
  const recipe = await readRecipe(opts.recipe);
  const first = firstRecipeModel(recipe);
  return first !== undefined && (await looksLikeGguf(first)) ? { ...opts, recipe } : undefined;
}

/**
 * `deepen upscale` on GGUF files: the same layer plans as for model folders (DUS, expansion,
 * passthrough recipes), written as one GGUF file whose quantized blocks are copied byte for byte.
 */
export async function upscaleGguf(opts: UpscaleOptions): Promise<GgufUpscaleResult> {
  if (opts.dtype !== undefined) {
    throw new UsageError(
      "--dtype converts model folders; a GGUF file's tensors keep their own types (quantized blocks are copied as they are)",
    );
  }
  if (!opts.dryRun) {
    if (opts.out === undefined) throw new UsageError("missing -o/--out: where to write the up-scaled model");
    if (!/\.gguf$/i.test(opts.out))
      throw new UsageError(`-o ${opts.out}: a GGUF model is up-scaled into a .gguf file`);
    await checkGgufTarget(opts.out, opts.model !== undefined ? [opts.model] : [], opts.force);
  }
  const plan = await buildPlanWith(opts, openGgufLayout, GGUF_SOURCES);
  if (plan.dtype !== undefined) {
    plan.warnings = [
      ...(plan.warnings ?? []),
      `the recipe's dtype ${plan.dtype} does not apply to GGUF files: every tensor keeps its own type`,
    ];
    plan.dtype = undefined;
  }
  const kinds = ggufLayerKindWarnings(plan);
  if (kinds.length > 0) plan.warnings = [...(plan.warnings ?? []), ...kinds];
  if (opts.dryRun) return { ...summarizeGgufPlan(plan, opts), plan };
  return { ...(await writeGgufPlan(plan, opts.out!, opts)), plan };
}
