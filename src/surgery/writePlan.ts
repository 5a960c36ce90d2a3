import { rewriteConfig } from "../arch/rewriteConfig.js";
import { withAtomicOutput } from "../checkpoint/atomicOutput.js";
import { writeFolderFiles } from "../checkpoint/folderFiles.js";
import type { Lineage } from "../checkpoint/lineage.js";
import type { OutputTensor } from "../checkpoint/tensorStream.js";
import { writeShards } from "../checkpoint/writeShards.js";
import { type LayerPlan, parameterCount, planTensors } from "./layerPlan.js";
import { modelCard } from "./modelCard.js";
import { planLineage } from "./planLineage.js";

export interface WritePlanOptions {
  force?: boolean;
  shardBytes?: number;
  /** The command line that made the output, recorded in the card. */
  command?: string;
  /** Write computed tensors that hold Inf or NaN instead of stopping at the first (--allow-nonfinite). */
  allowNonFinite?: boolean;
  /** Called before writing with the total bytes, then with bytes written so far. */
  onStart?: (totalBytes: number) => void;
  onProgress?: (written: number) => void;
}

export interface PlanSummary {
  layers: number;
  parameters: number;
  bytes: number;
  tensors: OutputTensor[];
  config: Record<string, unknown>;
  warnings: string[];
  lineage: Lineage;
}

/** Everything a plan will write, computed without writing anything (what --dry-run shows). */
export async function summarizePlan(
  plan: LayerPlan,
  check: { allowNonFinite?: boolean } = {},
): Promise<PlanSummary> {
  const tensors = planTensors(plan, check);
  const { config, warnings } = rewriteConfig(plan);
  const parameters = parameterCount(tensors);
  return {
    layers: plan.layers.length,
    parameters,
    bytes: tensors.reduce((a, t) => a + t.byteLength, 0),
    tensors,
    config,
    warnings: [...(plan.warnings ?? []), ...warnings],
    lineage: await planLineage(plan, parameters),
  };
}

/** Executes a layer plan into a Hugging Face model folder at `out`, atomically. */
export async function writePlan(
  plan: LayerPlan,
  out: string,
  opts: WritePlanOptions = {},
): Promise<PlanSummary> {
  const summary = await summarizePlan(plan, opts);
  const inputs = plan.models.map((l) => l.model.dir);
  await withAtomicOutput(out, { force: opts.force, inputs }, async (tmp) => {
    opts.onStart?.(summary.bytes);
    await writeShards(tmp, summary.tensors, { shardBytes: opts.shardBytes, onProgress: opts.onProgress });
    await writeFolderFiles(tmp, {
      config: summary.config,
      carryFrom: plan.models[plan.tokenizerFrom]!.model.dir,
      lineage: summary.lineage,
      card: modelCard(plan, summary.lineage, summary.warnings, opts.command),
    });
  });
  return summary;
}
