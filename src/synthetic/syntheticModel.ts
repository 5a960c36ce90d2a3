import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Dims } from "../arch/families.js";
import { familyByName } from "../arch/findFamily.js";
import { modelTensorShapes, structuralConfig } from "../arch/modelLayout.js";
import { DTYPE_BYTES, type DType, encodeFloats, torchName } from "../checkpoint/dtype.js";
import { CONFIG_FILE, INDEX_FILE } from "../checkpoint/modelFolder.js";
import { numel } from "../checkpoint/safetensorsHeader.js";
import { CHUNK_BYTES, type OutputTensor } from "../checkpoint/tensorStream.js";
import { shardName, writeShards } from "../checkpoint/writeShards.js";
import { byteTokenizerFiles } from "./byteTokenizer.js";
import { hashString, mulberry32 } from "../random.js";

export const TINY_DIMS: Dims = {
  hidden: 64,
  intermediate: 128,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  vocab: 288, // 256 bytes + 3 special tokens, rounded up to a multiple of 32
  experts: 4,
};

export interface SyntheticOptions {
  family: string;
  layers: number;
  dims?: Partial<Dims>;
  dtype?: DType;
  /** Tie lm_head to the embeddings (no lm_head tensor). Default: the family's habit. */
  tied?: boolean;
  shardBytes?: number;
  seed?: number;
  /** "random": every tensor its own seeded values; "repeat": one random block repeated (fast, for benchmarks). */
  fill?: "random" | "repeat";
  /** "single": one model.safetensors without an index, as small Hugging Face models ship. */
  layout?: "sharded" | "single";
  /** Extra config.json fields, merged over the generated ones. */
  config?: Record<string, unknown>;
}

// "repeat" fill: one random chunk per dtype and kind, shared by every tensor (benchmarks need bytes, not variety).
const repeatBlocks = new Map<string, Uint8Array>();

function syntheticTensor(
  name: string,
  shape: number[],
  dtype: DType,
  seed: number,
  fill: "random" | "repeat",
): OutputTensor {
  const size = DTYPE_BYTES[dtype];
  const count = numel(shape);
  const isNorm = /norm/.test(name);
  const block = (elements: number, rand: () => number) => {
    const vals = new Float32Array(elements);
    for (let i = 0; i < elements; i++) vals[i] = isNorm ? 1 + (rand() - 0.5) * 0.1 : (rand() - 0.5) * 0.04;
    const bytes = new Uint8Array(elements * size);
    encodeFloats(dtype, vals, bytes);
    return bytes;
  };
  return {
    name,
    dtype,
    shape,
    byteLength: count * size,
    async write(sink) {
      const rand = mulberry32(seed ^ hashString(name));
      const per = CHUNK_BYTES / size;
      for (let done = 0; done < count; done += per) {
        const n = Math.min(per, count - done);
        if (fill === "repeat") {
          const key = `${dtype}/${isNorm}`;
          if (!repeatBlocks.has(key)) repeatBlocks.set(key, block(per, rand));
          await sink.write(repeatBlocks.get(key)!.subarray(0, n * size));
        } else {
          await sink.write(block(n, rand));
        }
      }
    },
  };
}

/** Writes a random checkpoint of a table family, with tokenizer files, into `dir` (created if needed). */
export async function writeSyntheticModel(dir: string, opts: SyntheticOptions): Promise<void> {
  const family = familyByName(opts.family);
  const d: Dims = { ...TINY_DIMS, ...opts.dims };
  const dtype = opts.dtype ?? "BF16";
  const tied = opts.tied ?? family.tiedByDefault;
  const seed = opts.seed ?? 0;
  const fill = opts.fill ?? "random";
  const shapes = modelTensorShapes(family, opts.layers, d, tied);
  await mkdir(dir, { recursive: true });
  await writeShards(
    dir,
    shapes.map(([n, s]) => syntheticTensor(n, s, dtype, seed, fill)),
    { shardBytes: opts.layout === "single" ? Infinity : opts.shardBytes },
  );
  if (opts.layout === "single") {
    await rename(join(dir, shardName(0, 1)), join(dir, "model.safetensors"));
    await rm(join(dir, INDEX_FILE));
  }
  const config = {
    ...structuralConfig(family, opts.layers, d, tied),
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    hidden_act: "silu",
    bos_token_id: 256,
    eos_token_id: 257,
    torch_dtype: torchName(dtype),
    ...family.configExtras(d, opts.layers),
    ...opts.config,
  };
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n");
  for (const [name, content] of Object.entries(byteTokenizerFiles()))
    await writeFile(join(dir, name), content);
}
