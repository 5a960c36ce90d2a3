import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withAtomicOutput } from "../checkpoint/atomicOutput.js";
import { CONFIG_FILE } from "../checkpoint/modelFolder.js";
import type { OutputTensor } from "../checkpoint/tensorStream.js";
import { writeShards } from "../checkpoint/writeShards.js";
import { carryFiles } from "./carryFiles.js";
import { type LayerPlan, parameterCount, planTensors } from "./layerPlan.js";
import { LINEAGE_FILE, type Lineage, planLineage } from "./lineage.js";
import { modelCard } from "./modelCard.js";
import { rewriteConfig } from "./rewriteConfig.js";

export interface WritePlanOptions {
  force?: boolean;
  shardBytes?: number;
  /** The command line that made the output, recorded in the card. */
  command?: string;
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
export async function summarizePlan(plan: LayerPlan): Promise<PlanSummary> {
  const tensors = planTensors(plan);
  const { config, warnings } = rewriteConfig(plan);
  const parameters = parameterCount(tensors);
  return {
    layers: plan.layers.length,
    parameters,
    bytes: tensors.reduce((a, t) => a + t.byteLength, 0),
    tensors,
    config,
    warnings,
    lineage: await planLineage(plan, parameters),
  };
}

/** Executes a layer plan into a Hugging Face model folder at `out`, atomically. */
export async function writePlan(
  plan: LayerPlan,
  out: string,
  opts: WritePlanOptions = {},
): Promise<PlanSummary> {
  const summary = await summarizePlan(plan);
  const inputs = plan.models.map((l) => l.model.dir);
  await withAtomicOutput(out, { force: opts.force, inputs }, async (tmp) => {
    opts.onStart?.(summary.bytes);
    await writeShards(tmp, summary.tensors, { shardBytes: opts.shardBytes, onProgress: opts.onProgress });
    await writeFile(join(tmp, CONFIG_FILE), JSON.stringify(summary.config, null, 2) + "\n");
    await carryFiles(plan.models[plan.tokenizerFrom]!.model.dir, tmp);
    await writeFile(join(tmp, LINEAGE_FILE), JSON.stringify(summary.lineage, null, 2) + "\n");
    await writeFile(join(tmp, "README.md"), modelCard(plan, summary.lineage, summary.warnings, opts.command));
  });
  return summary;
}
