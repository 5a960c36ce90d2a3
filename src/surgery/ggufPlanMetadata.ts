import { GGUFValueType } from "@huggingface/gguf";
import { blockCountKey, type GgufLayout } from "../arch/ggufLayout.js";
import { type GgufMetadata, type GgufValue, metaString } from "../checkpoint/gguf/ggufMetadata.js";
import { CheckpointError } from "../errors.js";
import type { LayerPlan } from "./layerPlan.js";

const NAME_KEY = "general.name";
const TOKENIZER_PREFIX = "tokenizer.";

/**
 * The keys of `layout`'s own metadata that hold one value per layer: llama.cpp reads any
 * {arch}.* array of block_count elements as per-layer (head counts, feed-forward widths,
 * sliding-window patterns, ...), so every such array moves with its layers.
 */
export function perLayerKeys(layout: GgufLayout): string[] {
  const keys: string[] = [];
  for (const [key, v] of layout.gguf.metadata) {
    if (!key.startsWith(`${layout.architecture}.`) || v.type !== GGUFValueType.ARRAY) continue;
    if ((v.value as unknown[]).length === layout.layers) keys.push(key);
  }
  return keys;
}

/** The metadata with the tokenizer.* keys of `from` in place of its own, where its own were. */
function withTokenizerOf(meta: GgufMetadata, from: GgufMetadata): GgufMetadata {
  const out: GgufMetadata = new Map();
  let placed = false;
  const place = () => {
    if (placed) return;
    placed = true;
    for (const [k, v] of from) if (k.startsWith(TOKENIZER_PREFIX)) out.set(k, v);
  };
  for (const [k, v] of meta) {
    if (k.startsWith(TOKENIZER_PREFIX)) place();
    else out.set(k, v);
  }
  place();
  return out;
}

/**
 * The output's metadata: the config model's, in its order, with {arch}.block_count set to the new
 * depth, every per-layer array rebuilt in the new layer order (each element from the layer's own
 * source model), general.name saying what was done, and the tokenizer model's tokenizer.* keys.
 */
export function ggufPlanMetadata(plan: LayerPlan<GgufLayout>): GgufMetadata {
  const base = plan.models[plan.configFrom]!;
  let meta: GgufMetadata = new Map(base.gguf.metadata);
  if (plan.tokenizerFrom !== plan.configFrom)
    meta = withTokenizerOf(meta, plan.models[plan.tokenizerFrom]!.gguf.metadata);
  const depth = plan.layers.length;
  const countKey = blockCountKey(base.architecture);
  const count = meta.get(countKey)!;
  meta.set(countKey, { ...count, value: typeof count.value === "bigint" ? BigInt(depth) : depth });
  for (const key of perLayerKeys(base)) {
    const v = meta.get(key)!;
    const elementType = v.subType;
    const value = plan.layers.map((src) => {
      const model = plan.models[src.model]!;
      const own = model.gguf.metadata.get(key);
      if (own?.type === GGUFValueType.ARRAY && (own.value as unknown[]).length === model.layers) {
        return (own.value as unknown[])[src.layer];
      }
      // One number for every layer (what most files write) is that layer's value too.
      if (own && own.type === elementType && typeof own.value === typeof (v.value as unknown[])[0])
        return own.value;
      throw new CheckpointError(
        model.path,
        `${key} is a per-layer array of ${base.layers} values in ${base.path}, but not one of ${model.layers} (or one ${GGUFValueType[elementType!]}) here`,
      );
    });
    meta.set(key, { ...v, value } satisfies GgufValue);
  }
  const name = metaString(meta, NAME_KEY) ?? base.name;
  const n = base.layers;
  meta.set(NAME_KEY, {
    type: GGUFValueType.STRING,
    value: `${name} (deepen ${plan.method}: ${n} -> ${depth} layers)`,
  });
  return meta;
}
