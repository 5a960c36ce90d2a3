// An adapter matched to a model: every LoRA pair to the weight it updates, every whole tensor to the
// one it replaces, with shapes and dtypes checked, so that a mismatch is refused before anything is
// written. Then the output's tensors, in the model's order: updated, replaced, or copied as bytes.
import { CheckpointError } from "../../errors.js";
import { CONVERTIBLE, type DType, decodeFloats } from "../dtype.js";
import type { ModelFolder } from "../modelFolder.js";
import type { TensorEntry } from "../safetensorsHeader.js";
import {
  chunkedTensor,
  type OutputTensor,
  readByteRange,
  readFloatRange,
  readTensorCopy,
  tensorFrom,
} from "../tensorStream.js";
import { addLowRank, type LowRank, lowRankUpdate } from "./lowRank.js";
import { lowRankPool, POOL_MIN_WORK, sharedFloats } from "./lowRankPool.js";
import type { Adapter, LoraPair } from "./readAdapter.js";

export interface LoraUpdate {
  pair: LoraPair;
  /** The model tensor updated: `${pair.module}.weight`. */
  target: string;
  /** What the update is added to: the model's tensor, or the adapter's replacement of it. */
  base: TensorEntry;
  /** The update is (B·A)ᵀ: a Conv1D layer (fan_in_fan_out) or an embedding. */
  transposed: boolean;
}

export interface LoraPlan {
  model: ModelFolder;
  adapter: Adapter;
  /** By target tensor name. */
  updates: Map<string, LoraUpdate>;
  /** Model tensor name → the adapter's tensor written in its place. */
  replacements: Map<string, TensorEntry>;
}

const shapeText = (s: readonly number[]) => `[${s.join(", ")}]`;

/** Matches `adapter` to `model`; throws a CheckpointError naming the adapter file and tensor at the first mismatch. */
export function planLora(model: ModelFolder, adapter: Adapter): LoraPlan {
  const refuse = (tensor: string, detail: string): never => {
    throw new CheckpointError(adapter.file, `tensor ${tensor}: ${detail}`);
  };
  for (const [target, entry] of adapter.replacements) {
    const own = model.tensors.get(target);
    if (!own) refuse(entry.name, `replaces ${target}, which ${model.name} does not have`);
    if (shapeText(own!.shape) !== shapeText(entry.shape))
      refuse(
        entry.name,
        `shape ${shapeText(entry.shape)}, but ${target} of ${model.name} is ${shapeText(own!.shape)}` +
          (/embed|lm_head|wte/.test(target) ? " (a resized vocabulary is not merged by deepen)" : ""),
      );
    const floats = CONVERTIBLE.includes(entry.dtype) && CONVERTIBLE.includes(own!.dtype);
    if (!floats && entry.dtype !== own!.dtype)
      refuse(entry.name, `${entry.dtype}, but ${target} of ${model.name} is ${own!.dtype}`);
  }
  const updates = new Map<string, LoraUpdate>();
  for (const pair of adapter.pairs) {
    const target = `${pair.module}.weight`;
    const own = model.tensors.get(target);
    if (!own) refuse(pair.a.name, `adapts module ${pair.module}, but ${model.name} has no tensor ${target}`);
    if (!CONVERTIBLE.includes(own!.dtype))
      refuse(
        pair.a.name,
        `${target} of ${model.name} is ${own!.dtype}; LoRA is merged into F32, F16 or BF16 weights`,
      );
    // Linear: B·A is [out, in] like the weight; Conv1D (fan_in_fan_out) and embeddings hold it transposed.
    const transposed = pair.kind === "embedding" || adapter.config.fanInFanOut;
    const out = pair.b.shape[0]!;
    const inner = pair.a.shape[1]!;
    const expected = transposed ? [inner, out] : [out, inner];
    if (shapeText(own!.shape) !== shapeText(expected))
      refuse(
        pair.a.name,
        `with ${pair.b.name} it makes a ${shapeText(expected)} update${transposed && pair.kind === "linear" ? " (fan_in_fan_out)" : ""}, ` +
          `but ${target} of ${model.name} is ${shapeText(own!.shape)}`,
      );
    updates.set(target, { pair, target, base: adapter.replacements.get(target) ?? own!, transposed });
  }
  return { model, adapter, updates, replacements: adapter.replacements };
}

/**
 * W + s·B·A, computed a chunk at a time as it is written; the factors are read once and released after
 * the last chunk. A chunk with enough work is decoded into shared memory and split over the thread pool
 * (the same result to the bit), and that buffer is handed to the writer as it is: no copy either way.
 */
function updatedTensor(u: LoraUpdate, dtype: DType): OutputTensor {
  const total = u.base.shape[0]! * u.base.shape[1]!;
  let factors: LowRank | undefined;
  let row: Float64Array | undefined;
  let chunk: Float32Array | undefined;
  return chunkedTensor(u.target, dtype, u.base.shape, async (io, start, count) => {
    const pool = count * u.pair.rank >= POOL_MIN_WORK ? lowRankPool() : undefined;
    if (!factors) {
      const a = await readTensorCopy(io, u.pair.a);
      const b = await readTensorCopy(io, u.pair.b);
      factors = lowRankUpdate(a, b, u.pair.rank, u.pair.scale, u.transposed, pool !== undefined);
      row = new Float64Array(factors.cols);
    }
    const last = start + count === total;
    let w: Float32Array;
    if (pool && factors.c.buffer instanceof SharedArrayBuffer) {
      if (!chunk || chunk.length < count) chunk = sharedFloats(count);
      w = chunk.subarray(0, count);
      decodeFloats(u.base.dtype, await readByteRange(io, u.base, start, count, 0), w);
      await pool.addLowRank(factors, start, w);
    } else {
      w = await readFloatRange(io, u.base, start, count, 0);
      addLowRank(factors, start, w, row!);
    }
    if (last) factors = row = chunk = undefined;
    return w;
  });
}

/** The output's tensors in the model's order, in `dtype` (each float tensor's own when undefined). */
export function loraOutputTensors(plan: LoraPlan, dtype?: DType): OutputTensor[] {
  return [...plan.model.tensors].map(([name, entry]) => {
    const out = dtype && CONVERTIBLE.includes(entry.dtype) ? dtype : entry.dtype;
    const update = plan.updates.get(name);
    if (update) return updatedTensor(update, out);
    const replacement = plan.replacements.get(name);
    if (replacement) return tensorFrom(name, replacement, { dtype: out });
    return tensorFrom(name, entry, { dtype: out });
  });
}
