// A freshly initialised decoder, written as a Hugging Face folder: the starting point for training a
// model from scratch (deepen-tiny, the demo's from-scratch control). Initialisation follows
// transformers' Llama: every matrix N(0, initializer_range²), norm weights 1 (0 for Gemma, whose
// norms multiply by 1 + w), so the folder is what `LlamaForCausalLM(config)` would start from.

import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Dims } from "../arch/families.js";
import { familyByName } from "../arch/findFamily.js";
import { modelTensorShapes, structuralConfig } from "../arch/modelLayout.js";
import { type DType, torchName } from "../checkpoint/dtype.js";
import { CONFIG_FILE } from "../checkpoint/modelFolder.js";
import { numel } from "../checkpoint/safetensorsHeader.js";
import { chunkedTensor, type OutputTensor } from "../checkpoint/tensorStream.js";
import { writeShards } from "../checkpoint/writeShards.js";
import { UsageError } from "../errors.js";
import { hashString, mulberry32 } from "../random.js";
import {
  loadTokenizer,
  SPECIAL_TOKENS_MAP_FILE,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
} from "../tokenizer/loadTokenizer.js";

/** Experts per layer of a new mixture-of-experts model: Mixtral 8x7B's. */
export const DEFAULT_EXPERTS = 8;

/** transformers' default `initializer_range` for Llama-family configs. */
export const DEFAULT_INIT_STD = 0.02;

export interface InitOptions {
  /** Folder with tokenizer.json (+ tokenizer_config.json); its vocabulary sets vocab_size. */
  tokenizer: string;
  family?: string;
  layers: number;
  dims: Omit<Dims, "vocab" | "experts">;
  /** Experts per layer, for a mixture-of-experts family (default DEFAULT_EXPERTS); ignored otherwise. */
  experts?: number;
  /** max_position_embeddings: the context the model is meant for. */
  context: number;
  seed?: number;
  std?: number;
  dtype?: DType;
  tied?: boolean;
}

export interface InitResult {
  parameters: number;
  vocab: number;
}

/** Standard normal draws from a seeded uniform source (Box–Muller, both values used). */
function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - rand(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rand();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

function initTensor(
  name: string,
  shape: number[],
  dtype: DType,
  seed: number,
  std: number,
  normOne: number,
): OutputTensor {
  const isNorm = shape.length === 1;
  // Seeded per tensor name: a tensor's values do not depend on which others the model has. Chunks
  // come in order, so one generator per write draws the same sequence whatever the chunk size.
  let normal = () => 0;
  return chunkedTensor(name, dtype, shape, async (_io, start, count) => {
    if (start === 0) normal = gaussian(mulberry32(seed ^ hashString(name)));
    const vals = new Float32Array(count);
    for (let i = 0; i < count; i++) vals[i] = isNorm ? normOne : std * normal();
    return vals;
  });
}

/** Writes a newly initialised model of `opts` into `dir` (which must not exist or be empty). */
export async function initModel(dir: string, opts: InitOptions): Promise<InitResult> {
  const family = familyByName(opts.family ?? "llama");
  if (!existsSync(join(opts.tokenizer, TOKENIZER_FILE)))
    throw new UsageError(
      `${opts.tokenizer}: no ${TOKENIZER_FILE} (pass the folder a tokenizer was written to)`,
    );
  const tok = await loadTokenizer(opts.tokenizer);
  if (tok.vocabSize === 0) throw new UsageError(`${opts.tokenizer}: tokenizer.json has an empty vocabulary`);
  // One past the largest id, special tokens included.
  const experts = family.moe ? (opts.experts ?? DEFAULT_EXPERTS) : 0;
  if (family.moe && !(Number.isInteger(experts) && experts >= 2))
    throw new UsageError(`--experts ${experts}: a ${family.family} layer needs at least 2 experts`);
  const d: Dims = { ...opts.dims, vocab: tok.vocabSize, experts };
  if (d.heads % d.kvHeads !== 0)
    throw new UsageError(`--heads ${d.heads} is not a multiple of --kv-heads ${d.kvHeads}`);
  const dtype = opts.dtype ?? "F32";
  const tied = opts.tied ?? family.tiedByDefault;
  const seed = opts.seed ?? 0;
  const std = opts.std ?? DEFAULT_INIT_STD;
  const normOne = family.modelType.startsWith("gemma") ? 0 : 1;
  const shapes = modelTensorShapes(family, opts.layers, d, tied);
  await mkdir(dir, { recursive: true });
  await writeShards(
    dir,
    shapes.map(([n, s]) => initTensor(n, s, dtype, seed, std, normOne)),
    {},
  );
  const config = {
    ...structuralConfig(family, opts.layers, d, tied),
    max_position_embeddings: opts.context,
    initializer_range: std,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    hidden_act: "silu",
    attention_bias: false,
    mlp_bias: false,
    ...(tok.bosId !== undefined && { bos_token_id: tok.bosId }),
    ...(tok.eosIds[0] !== undefined && { eos_token_id: tok.eosIds[0] }),
    ...(tok.padId !== undefined && { pad_token_id: tok.padId }),
    torch_dtype: torchName(dtype),
    ...family.configExtras(d, opts.layers),
  };
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n");
  for (const f of [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE])
    if (existsSync(join(opts.tokenizer, f))) await copyFile(join(opts.tokenizer, f), join(dir, f));
  return { parameters: shapes.reduce((s, [, sh]) => s + numel(sh), 0), vocab: d.vocab };
}
