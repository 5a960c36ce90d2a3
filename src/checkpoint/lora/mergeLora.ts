// A model with a PEFT LoRA adapter merged into its weights, written as a standard model folder
// (what `deepen lora merge` writes, and what a MODEL+ADAPTER reference reads from the cache).
import { stringify } from "yaml";
import { formatCount } from "../../formatCount.js";
import { VERSION } from "../../version.js";
import { withAtomicOutput } from "../atomicOutput.js";
import { type DType, torchName } from "../dtype.js";
import { finiteOnly } from "../finiteCheck.js";
import { writeFolderFiles } from "../folderFiles.js";
import { type Lineage, readParentLineages } from "../lineage.js";
import { type ModelConfig, openModelFolder } from "../modelFolder.js";
import { numel } from "../safetensorsHeader.js";
import { writeShards } from "../writeShards.js";
import { loraOutputTensors, type LoraPlan, planLora } from "./planLora.js";
import { readAdapter } from "./readAdapter.js";

export interface LoraMergeOptions {
  /** Output dtype of the float tensors (each tensor's own when undefined). */
  dtype?: DType;
  force?: boolean;
  shardBytes?: number;
  /** The command line that made the output, recorded in the card. */
  command?: string;
  /** Write updated tensors that hold Inf or NaN instead of stopping at the first. */
  allowNonFinite?: boolean;
  onStart?: (totalBytes: number) => void;
  onProgress?: (written: number) => void;
}

export interface LoraMergeResult {
  model: string;
  adapter: string;
  /** Weights the adapter's low-rank pairs changed, and tensors it replaced whole. */
  modules: number;
  replaced: number;
  /** The distinct scales applied (alpha / r, or alpha / √r), smallest first. */
  scales: number[];
  parameters: number;
  bytes: number;
  tensors: number;
}

/** The layer count a config states, else one more than the highest layer index in the tensor names. */
function layerCount(config: ModelConfig, names: Iterable<string>): number {
  for (const key of ["num_hidden_layers", "n_layer", "num_layers"]) {
    const v = config[key];
    if (Number.isSafeInteger(v) && (v as number) >= 0) return v as number;
  }
  let top = -1;
  for (const n of names) {
    const m = /(?:^|\.)(?:layers|h|blocks|layer)\.(\d+)\./.exec(n);
    if (m) top = Math.max(top, Number(m[1]));
  }
  return top + 1;
}

function outputConfig(config: ModelConfig, dtype?: DType): ModelConfig {
  if (!dtype) return config;
  const out: ModelConfig = { ...config, torch_dtype: torchName(dtype) };
  if ("dtype" in config) out.dtype = torchName(dtype); // transformers ≥ 4.56 writes this name
  return out;
}

function lineageOf(
  plan: LoraPlan,
  parameters: number,
  scales: number[],
  dtype: DType | undefined,
  parents: Lineage[],
): Lineage {
  const { model, adapter } = plan;
  const c = adapter.config;
  const layers = layerCount(model.config, model.tensors.keys());
  const architectures = model.config.architectures;
  return {
    deepen_version: VERSION,
    method: "lora",
    recipe: {
      adapter: { name: adapter.name, path: adapter.dir, base_model_name_or_path: c.baseModel ?? null },
      r: c.r,
      lora_alpha: c.loraAlpha,
      use_rslora: c.useRslora,
      fan_in_fan_out: c.fanInFanOut,
      scales,
      modules: [...plan.updates.values()].map((u) => u.pair.module),
      replaced: [...plan.replacements.keys()],
      ...(dtype ? { dtype: torchName(dtype) } : {}),
    },
    sources: [
      {
        name: model.name,
        path: model.dir,
        architecture:
          Array.isArray(architectures) && typeof architectures[0] === "string" ? architectures[0] : "unknown",
        layers,
      },
    ],
    layer_map: Array.from({ length: layers }, (_, layer) => ({ model: 0, layer })),
    new_layers: [],
    parameters,
    parents,
  };
}

function loraCard(plan: LoraPlan, r: LoraMergeResult, command?: string): string {
  const front = stringify({
    base_model: plan.model.name,
    library_name: "transformers",
    tags: ["deepen", "lora", "merge"],
  });
  return [
    "---",
    front.trimEnd(),
    "---",
    "",
    `# ${plan.model.name} with the LoRA adapter ${plan.adapter.name} merged`,
    "",
    `The adapter's low-rank updates (W + s·B·A) added into the base weights, made with deepen ${VERSION}.`,
    "",
    `- Base model: ${plan.model.name}`,
    `- Adapter: ${plan.adapter.name} (r = ${plan.adapter.config.r}, lora_alpha = ${plan.adapter.config.loraAlpha}${plan.adapter.config.useRslora ? ", rank-stabilised" : ""})`,
    `- Weights updated: ${r.modules}; tensors replaced whole: ${r.replaced}`,
    `- Scale: ${r.scales.join(", ") || "none"}`,
    `- Parameters: ${formatCount(r.parameters)} (${r.parameters})`,
    "",
    ...(command ? ["## Reproduce", "", "```", command, "```", ""] : []),
    "The full lineage, machine-readable, is in `deepen.json` beside the weights. The model has the",
    "architecture of its base and loads with no custom code and no PEFT.",
    "",
  ].join("\n");
}

/** Writes the merge `plan` describes as a model folder at `out`, atomically. */
export async function writeLoraMerge(
  plan: LoraPlan,
  out: string,
  opts: LoraMergeOptions = {},
): Promise<LoraMergeResult> {
  const merged = loraOutputTensors(plan, opts.dtype);
  const why = "the adapter's update leaves the dtype's range, or the weight or adapter holds Inf or NaN";
  const tensors = opts.allowNonFinite
    ? merged
    : merged.map((t) => (plan.updates.has(t.name) ? finiteOnly(t, why) : t));
  const scales = [...new Set([...plan.updates.values()].map((u) => u.pair.scale))].sort((a, b) => a - b);
  const result: LoraMergeResult = {
    model: plan.model.name,
    adapter: plan.adapter.name,
    modules: plan.updates.size,
    replaced: plan.replacements.size,
    scales,
    parameters: tensors.reduce((a, t) => a + numel(t.shape), 0),
    bytes: tensors.reduce((a, t) => a + t.byteLength, 0),
    tensors: tensors.length,
  };
  const lineage = lineageOf(
    plan,
    result.parameters,
    scales,
    opts.dtype,
    await readParentLineages([plan.model.dir]),
  );
  const inputs = [plan.model.dir, plan.adapter.dir];
  await withAtomicOutput(out, { force: opts.force, inputs }, async (tmp) => {
    opts.onStart?.(result.bytes);
    await writeShards(tmp, tensors, { shardBytes: opts.shardBytes, onProgress: opts.onProgress });
    await writeFolderFiles(tmp, {
      config: outputConfig(plan.model.config, opts.dtype),
      carryFrom: plan.model.dir,
      lineage,
      card: loraCard(plan, result, opts.command),
    });
  });
  return result;
}

/** Reads a model and an adapter, matches them (refusing any mismatch before writing), and writes the merged model to `out`. */
export async function mergeLora(
  model: string,
  adapter: string,
  out: string,
  opts: LoraMergeOptions = {},
): Promise<LoraMergeResult> {
  const plan = planLora(await openModelFolder(model), await readAdapter(adapter));
  return writeLoraMerge(plan, out, opts);
}
