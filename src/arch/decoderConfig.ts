// The decoder's configuration as a typed record with Hugging Face's key names, and one row of
// structural facts per architecture. The graph builder reads only these two things.
import { configDims } from "./configDims.js";
import { findFamily } from "./findFamily.js";
import type { ArchFamily } from "./families.js";
import { CheckpointError, DeepenError } from "../errors.js";
import { checkDecoderConfig } from "./checkDecoderConfig.js";

export interface RopeScaling {
  rope_type?: string;
  type?: string;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

/** config.json fields the engine reads (HF names). */
export interface DecoderConfig {
  architectures: string[];
  hidden_size: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  num_hidden_layers: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta?: number;
  rope_scaling?: RopeScaling | null;
  rope_local_base_freq?: number;
  /** Phi-3/Phi-4: RoPE rotates only the first head_dim × this dimensions of each head. */
  partial_rotary_factor?: number;
  max_position_embeddings?: number;
  tie_word_embeddings?: boolean;
  sliding_window?: number | null;
  use_sliding_window?: boolean;
  max_window_layers?: number;
  layer_types?: string[];
  sliding_window_pattern?: number;
  query_pre_attn_scalar?: number;
  attn_logit_softcapping?: number | null;
  final_logit_softcapping?: number | null;
  embedding_multiplier?: number;
  residual_multiplier?: number;
  attention_multiplier?: number;
  logits_scaling?: number;
  bos_token_id?: number;
  eos_token_id?: number | number[];
}

/** How one architecture's decoder layer is put together. */
export interface Variant {
  /** RMSNorm multiplies by (1 + w): Gemma's norms. */
  normPlusOne: boolean;
  /** Embeddings are multiplied by sqrt(hidden_size): Gemma. */
  embedSqrtHidden: boolean;
  activation: "silu" | "gelu_tanh";
  /** Phi-3 stores q, k, v in one qkv_proj and gate, up in one gate_up_proj. */
  fused: boolean;
  /** q/k norms: over each head's vector (Qwen3, Gemma 3) or over the whole projection (OLMo 2). */
  qkNorm: "none" | "per_head" | "full";
  /** Norm placement: pre-norm (Llama), sandwich (Gemma 2/3: pre and post), post-norm (OLMo 2). */
  norms: "pre" | "sandwich" | "post";
  /** Sliding-window layers use rope_local_base_freq (Gemma 3). */
  localRope: boolean;
  /** Sliding window on every layer whenever config.sliding_window is set (Mistral). */
  slidingEverywhere: boolean;
}

const LLAMA: Variant = {
  normPlusOne: false,
  embedSqrtHidden: false,
  activation: "silu",
  fused: false,
  qkNorm: "none",
  norms: "pre",
  localRope: false,
  slidingEverywhere: false,
};
const GEMMA: Variant = { ...LLAMA, normPlusOne: true, embedSqrtHidden: true, activation: "gelu_tanh" };

export const VARIANTS: Record<string, Variant> = {
  llama: LLAMA,
  mistral: { ...LLAMA, slidingEverywhere: true },
  qwen2: LLAMA,
  qwen3: { ...LLAMA, qkNorm: "per_head" },
  gemma: GEMMA,
  gemma2: { ...GEMMA, norms: "sandwich" },
  gemma3_text: { ...GEMMA, norms: "sandwich", qkNorm: "per_head", localRope: true },
  phi3: { ...LLAMA, fused: true, slidingEverywhere: true },
  olmo2: { ...LLAMA, norms: "post", qkNorm: "full" },
  granite: LLAMA,
};

/** rope_scaling types the engine computes; any other would silently give wrong positions, so it is refused. */
export const SUPPORTED_ROPE = ["default", "linear", "dynamic", "llama3"];

export interface ResolvedDecoder {
  config: DecoderConfig;
  family: ArchFamily;
  variant: Variant;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Dimensions of each head that RoPE rotates (head_dim unless partial_rotary_factor says less). */
  rotaryDim: number;
  /** For each layer, whether it uses the sliding window. */
  sliding: boolean[];
  /** The config.json it was read from, for errors that name the checkpoint. */
  source: string;
}

/** Reads a config.json object into the decoder's terms, refusing architectures the engine cannot run. */
export function resolveDecoder(raw: Record<string, unknown>, configFile: string): ResolvedDecoder {
  const family = findFamily(raw, configFile);
  const variant = VARIANTS[family.family];
  if (!variant) {
    throw new DeepenError(
      `${configFile}: the engine cannot run ${family.architectures[0]} yet (mixture-of-experts routing); surgery works on it`,
    );
  }
  checkDecoderConfig(raw, variant, configFile);
  const config = { rms_norm_eps: 1e-6, ...raw } as unknown as DecoderConfig;
  const rs = config.rope_scaling;
  const ropeType = rs ? (rs.rope_type ?? rs.type ?? "default") : "default";
  if (!SUPPORTED_ROPE.includes(ropeType)) {
    throw new DeepenError(
      `${configFile}: rope_scaling type ${ropeType} is not supported by the engine yet (it runs ${SUPPORTED_ROPE.join(", ")})`,
    );
  }
  const { heads, kvHeads, headDim } = configDims(raw, configFile);
  if (heads % kvHeads !== 0)
    throw new CheckpointError(configFile, `${heads} heads do not split into ${kvHeads} KV groups`);
  const n = config.num_hidden_layers;
  let sliding: boolean[];
  const window = config.sliding_window;
  if (Array.isArray(config.layer_types)) sliding = config.layer_types.map((t) => t === "sliding_attention");
  else if (family.impliedLayerTypes)
    sliding = family.impliedLayerTypes(raw, n).map((t) => t === "sliding_attention");
  else sliding = new Array<boolean>(n).fill(variant.slidingEverywhere);
  if (typeof window !== "number" || window <= 0) sliding = sliding.map(() => false);
  const rotaryDim = 2 * Math.floor((headDim * (config.partial_rotary_factor ?? 1)) / 2);
  return { config, family, variant, heads, kvHeads, headDim, rotaryDim, sliding, source: configFile };
}
