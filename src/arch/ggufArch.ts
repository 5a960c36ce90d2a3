// How each family the engine runs is written as GGUF for llama.cpp: its llama.cpp architecture name,
// the GGUF names of its tensors, and the few ways llama.cpp's graph for that architecture differs
// from transformers' (facts from llama.cpp's convert_hf_to_gguf.py, gguf-py constants and
// src/llama-model.cpp). A family = a row; the exporter reads only this table.

/** GGUF names of the whole-model tensors, by HF name (llama.cpp's LLM_TENSOR_* names). */
export const GGUF_GLOBAL_NAMES: Readonly<Record<string, string>> = {
  "model.embed_tokens.weight": "token_embd.weight",
  "model.norm.weight": "output_norm.weight",
  "lm_head.weight": "output.weight",
};

/** The tensor llama.cpp's llama graph reads for Llama 3 rope scaling (one factor per frequency). */
export const ROPE_FREQS_NAME = "rope_freqs.weight";

export interface GgufArch {
  /** llama.cpp's architecture name (general.architecture and the metadata key prefix). */
  arch: string;
  /**
   * llama.cpp's "NORM" rope rotates adjacent pairs, HF's rotate-half pairs element i with i + d/2;
   * the converter reorders q and k rows of these archs so the same pairs rotate. NEOX-rope archs
   * rotate halves like HF and are written as they are.
   */
  permuteQK: boolean;
  /** Layer tensors, HF name relative to the layer prefix without .weight/.bias → GGUF name without blk.N. */
  layer: Readonly<Record<string, string>>;
  /** Gemma stores norm weights as w in x·(1 + w); llama.cpp's gemma graphs multiply by the stored weight. */
  normPlusOne: boolean;
  /** llama.cpp's graph always uses the embeddings as the head (Gemma): an untied lm_head would be ignored. */
  headIsEmbedding: boolean;
  /** llama.cpp applies {arch}.attention.sliding_window for this arch (written when the config has one). */
  slidingWindow: boolean;
  /** Writes the attention and final logit soft-capping values. */
  softcapping: boolean;
  /**
   * llama.cpp derives the query scale itself: 1/sqrt(head_dim), except for the layer count of
   * Gemma's 27B models, where it is 1/sqrt(hidden/heads). Absent: the arch has no such rule.
   */
  gemmaQueryScale?: { layers27B: number };
  /** llama.cpp hard-codes which layers slide: layer i slides when i % pattern < pattern − 1. */
  swaPattern?: number;
  /** llama.cpp hard-codes the rope base of sliding layers (Gemma 3: 10000). */
  localRopeBase?: number;
  /** Granite's four multipliers: attention.scale, embedding_scale, residual_scale, logit_scale. */
  graniteScales: boolean;
  /** Rope scaling types llama.cpp applies for this arch the way transformers does. */
  ropeScaling: readonly string[];
}

const LLAMA_LAYER: Record<string, string> = {
  input_layernorm: "attn_norm",
  "self_attn.q_proj": "attn_q",
  "self_attn.k_proj": "attn_k",
  "self_attn.v_proj": "attn_v",
  "self_attn.o_proj": "attn_output",
  post_attention_layernorm: "ffn_norm",
  "mlp.gate_proj": "ffn_gate",
  "mlp.up_proj": "ffn_up",
  "mlp.down_proj": "ffn_down",
};
const QK_NORMS = { "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm" };
// Gemma 2/3's sandwich: HF's post_attention_layernorm is a post-norm there, the MLP's pre-norm is
// pre_feedforward_layernorm (llama.cpp's ffn_norm).
const SANDWICH = {
  post_attention_layernorm: "post_attention_norm",
  pre_feedforward_layernorm: "ffn_norm",
  post_feedforward_layernorm: "post_ffw_norm",
};

const PLAIN: Omit<GgufArch, "arch" | "layer"> = {
  permuteQK: false,
  normPlusOne: false,
  headIsEmbedding: false,
  slidingWindow: false,
  softcapping: false,
  graniteScales: false,
  ropeScaling: ["linear"],
};
const LLAMA: GgufArch = {
  ...PLAIN,
  arch: "llama",
  permuteQK: true,
  layer: LLAMA_LAYER,
  ropeScaling: ["linear", "llama3"],
};
const GEMMA = { ...PLAIN, normPlusOne: true, headIsEmbedding: true };

/** By deepen family name (src/arch/families.ts); a family absent here is not exported. */
export const GGUF_ARCHS: Readonly<Record<string, GgufArch>> = {
  llama: LLAMA,
  mistral: LLAMA,
  qwen2: { ...PLAIN, arch: "qwen2", layer: LLAMA_LAYER },
  qwen3: { ...PLAIN, arch: "qwen3", layer: { ...LLAMA_LAYER, ...QK_NORMS } },
  gemma: { ...GEMMA, arch: "gemma", layer: LLAMA_LAYER },
  gemma2: {
    ...GEMMA,
    arch: "gemma2",
    layer: { ...LLAMA_LAYER, ...SANDWICH },
    slidingWindow: true,
    softcapping: true,
    gemmaQueryScale: { layers27B: 46 },
    swaPattern: 2,
  },
  gemma3_text: {
    ...GEMMA,
    arch: "gemma3",
    layer: { ...LLAMA_LAYER, ...SANDWICH, ...QK_NORMS },
    slidingWindow: true,
    gemmaQueryScale: { layers27B: 62 },
    swaPattern: 6,
    localRopeBase: 10000,
  },
  phi3: {
    ...PLAIN,
    arch: "phi3",
    layer: {
      input_layernorm: "attn_norm",
      "self_attn.qkv_proj": "attn_qkv",
      "self_attn.o_proj": "attn_output",
      post_attention_layernorm: "ffn_norm",
      // llama.cpp's phi3 splits ffn_up into gate (first half) and up, as HF's gate_up_proj is laid out.
      "mlp.gate_up_proj": "ffn_up",
      "mlp.down_proj": "ffn_down",
    },
    // llama.cpp's phi3 sets no sliding window whatever the file says (measured: it attends globally).
  },
  olmo2: {
    ...PLAIN,
    arch: "olmo2",
    layer: {
      "self_attn.q_proj": "attn_q",
      "self_attn.k_proj": "attn_k",
      "self_attn.v_proj": "attn_v",
      "self_attn.o_proj": "attn_output",
      ...QK_NORMS,
      post_attention_layernorm: "post_attention_norm",
      post_feedforward_layernorm: "post_ffw_norm",
      "mlp.gate_proj": "ffn_gate",
      "mlp.up_proj": "ffn_up",
      "mlp.down_proj": "ffn_down",
    },
  },
  granite: { ...LLAMA, arch: "granite", graniteScales: true, ropeScaling: ["linear"] },
};

/** The row of a llama.cpp architecture name (general.architecture), if deepen has one. */
export function ggufArchRow(arch: string): GgufArch | undefined {
  return Object.values(GGUF_ARCHS).find((a) => a.arch === arch);
}

/**
 * Hugging Face names of a GGUF architecture's layer tensors (GGUF name within the layer → HF name),
 * the inverse of its row, so a recipe's scale filters ("o_proj", "mlp") select the same tensors in a
 * GGUF model as in its folder. Empty for an architecture without a row.
 */
export function ggufHfLayerNames(arch: string): Readonly<Record<string, string>> {
  const row = ggufArchRow(arch);
  return row ? Object.fromEntries(Object.entries(row.layer).map(([hf, gguf]) => [gguf, hf])) : {};
}

/** Whether llama.cpp runs layer i of an architecture with this swa pattern as a sliding-window layer. */
export const slidesAt = (i: number, pattern: number): boolean => i % pattern < pattern - 1;
