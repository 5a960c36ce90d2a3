// A PEFT LoRA adapter folder: its config and the tensors of adapter_model.safetensors, sorted into
// low-rank pairs (lora_A, lora_B of one module) and whole tensors that replace the model's (what
// modules_to_save and saved embedding layers hold). Everything that depends on the adapter alone
// is checked here; matching it to a model is planLora's.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError } from "../../errors.js";
import { CONVERTIBLE } from "../dtype.js";
import { resolveModel } from "../resolveModel.js";
import { readSafetensorsHeader, type TensorEntry } from "../safetensorsHeader.js";
import { type LoraConfig, MAX_LORA_RANK, readAdapterConfig } from "./adapterConfig.js";
import { loraScale, moduleRankAlpha, moduleSelected } from "./moduleMatch.js";

export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";
const PICKLE_WEIGHTS_FILE = "adapter_model.bin";
/** PEFT saves a causal LM's adapter under the PeftModel's own prefix. */
const PEFT_PREFIX = "base_model.model.";

/** lora_A [r, in] and lora_B [out, r] of a linear module; lora_embedding_A [r, vocab] and lora_embedding_B [dim, r] of an embedding. */
export interface LoraPair {
  /** The module's name in the model (PEFT's prefix removed): its weight is `${module}.weight`. */
  module: string;
  kind: "linear" | "embedding";
  a: TensorEntry;
  b: TensorEntry;
  rank: number;
  alpha: number;
  /** alpha / r, or alpha / √r with use_rslora. */
  scale: number;
}

export interface Adapter {
  /** The folder as the user named it, and the folder read (a snapshot for a cache path). */
  input: string;
  dir: string;
  name: string;
  config: LoraConfig;
  /** adapter_model.safetensors. */
  file: string;
  pairs: LoraPair[];
  /** Model tensor name → the adapter's tensor that replaces it whole. */
  replacements: Map<string, TensorEntry>;
}

const LINEAR = /^(.+)\.lora_(A|B)\.weight$/;
const EMBEDDING = /^(.+)\.lora_embedding_(A|B)$/;

/** Reads an adapter folder (a folder, a models--ORG--NAME cache folder or a cached ORG/NAME) and checks it on its own. */
export async function readAdapter(input: string): Promise<Adapter> {
  const { dir, name } = await resolveModel(input);
  const config = await readAdapterConfig(dir);
  const file = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(file)) {
    if (existsSync(join(dir, PICKLE_WEIGHTS_FILE)))
      throw new CheckpointError(
        join(dir, PICKLE_WEIGHTS_FILE),
        `deepen reads adapter weights from safetensors only: convert this pickle to ${ADAPTER_WEIGHTS_FILE} first ` +
          "(in Python: safetensors.torch.save_file(torch.load(path), 'adapter_model.safetensors'))",
      );
    throw new CheckpointError(file, "missing: a PEFT adapter folder needs its weights");
  }
  const header = await readSafetensorsHeader(file);
  const halves = new Map<string, { kind: LoraPair["kind"]; a?: TensorEntry; b?: TensorEntry }>();
  const replacements = new Map<string, TensorEntry>();
  const bad = (tensor: string, detail: string): never => {
    throw new CheckpointError(file, `tensor ${tensor}: ${detail}`);
  };
  for (const [tname, entry] of header.tensors) {
    if (!tname.startsWith(PEFT_PREFIX))
      bad(tname, `not a PEFT tensor name (PEFT saves a model's adapter tensors under ${PEFT_PREFIX})`);
    const rest = tname.slice(PEFT_PREFIX.length);
    const linear = LINEAR.exec(rest);
    const m = linear ?? EMBEDDING.exec(rest);
    if (m) {
      const kind = linear ? "linear" : "embedding";
      const module = m[1]!;
      const half = halves.get(module) ?? { kind };
      if (half.kind !== kind) bad(tname, `module ${module} has both linear and embedding LoRA tensors`);
      if (!CONVERTIBLE.includes(entry.dtype))
        bad(tname, `${entry.dtype}: LoRA factors must be F32, F16 or BF16`);
      if (entry.shape.length !== 2)
        bad(tname, `shape [${entry.shape.join(", ")}]: LoRA factors are matrices`);
      if (m[2] === "A") half.a = entry;
      else half.b = entry;
      halves.set(module, half);
      continue;
    }
    if (/(^|\.)lora_magnitude_vector(\.|$)/.test(rest))
      bad(tname, "a DoRA magnitude vector; deepen merges plain LoRA only");
    if (/(^|\.)lora_/.test(rest)) bad(tname, "a LoRA tensor of a kind deepen does not merge");
    // A whole tensor: under a LoRA-wrapped module PEFT saves the original as `base_layer`.
    const target = rest.replace(/\.base_layer\.(?=[^.]+$)/, ".");
    if (replacements.has(target))
      bad(tname, `replaces ${target}, which another tensor of the adapter replaces too`);
    replacements.set(target, entry);
  }
  const pairs: LoraPair[] = [];
  for (const [module, h] of halves) {
    const [aName, bName] =
      h.kind === "linear"
        ? [`${PEFT_PREFIX}${module}.lora_A.weight`, `${PEFT_PREFIX}${module}.lora_B.weight`]
        : [`${PEFT_PREFIX}${module}.lora_embedding_A`, `${PEFT_PREFIX}${module}.lora_embedding_B`];
    if (!h.a) bad(bName, `has no ${aName} beside it`);
    if (!h.b) bad(aName, `has no ${bName} beside it`);
    const rank = h.a!.shape[0]!;
    if (h.b!.shape[1] !== rank)
      bad(bName, `shape [${h.b!.shape.join(", ")}] has rank ${h.b!.shape[1]}, but ${aName} has rank ${rank}`);
    if (rank === 0 || rank > MAX_LORA_RANK) bad(aName, `rank ${rank}: expected 1 to ${MAX_LORA_RANK}`);
    if (!moduleSelected(config, module))
      bad(
        aName,
        `module ${module} is not one that adapter_config.json selects (target_modules, exclude_modules, layers_to_transform)`,
      );
    const { r, alpha } = moduleRankAlpha(config, module);
    if (r !== rank)
      bad(
        aName,
        `rank ${rank}, but adapter_config.json gives module ${module} rank ${r} (r or rank_pattern)`,
      );
    pairs.push({
      module,
      kind: h.kind,
      a: h.a!,
      b: h.b!,
      rank,
      alpha,
      scale: loraScale(config, rank, alpha),
    });
  }
  if (pairs.length === 0 && replacements.size === 0) throw new CheckpointError(file, "holds no tensors");
  return { input, dir, name, config, file, pairs, replacements };
}
