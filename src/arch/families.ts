// Architectures are data: one row per family. Adding a family means adding a row here, naming its
// tensors, the config key that counts its layers and the config keys that describe layers one by one.
import type { ModelConfig } from "../checkpoint/modelFolder.js";

/** Sizes a synthetic checkpoint of a family is built from (test fixtures, benchmarks, the example). */
export interface Dims {
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  experts: number;
}

export type TensorShapes = [name: string, shape: number[]][];

/**
 * The decoder's tensors by role, as the engine builds its graph from them: whole-model names, and
 * layer names relative to `${layerPrefix}${i}.`. Linear layers are named without `.weight`/`.bias`.
 */
export interface DecoderTensorNames {
  embed: string;
  finalNorm: string;
  head: string;
  inputNorm: string;
  postAttentionNorm: string;
  preFeedforwardNorm: string;
  postFeedforwardNorm: string;
  q: string;
  k: string;
  v: string;
  o: string;
  /** Fused q, k, v (Phi-3). */
  qkv: string;
  qNorm: string;
  kNorm: string;
  gate: string;
  up: string;
  down: string;
  /** Fused gate and up (Phi-3). */
  gateUp: string;
}

export interface ArchFamily {
  family: string;
  /** config.json `architectures` values served by this row. */
  architectures: string[];
  /** config.json `model_type` written for synthetic checkpoints of this family. */
  modelType: string;
  /** Config key holding the number of decoder layers. */
  layerCountKey: string;
  /** Layer tensors are named `${layerPrefix}${i}.${rest}`. */
  layerPrefix: string;
  /** Non-layer tensors that sit after the layers (final norm, head): a layer stack takes them from its last model. */
  tailTensors: string[];
  /** Non-layer tensors before the layers (embeddings): taken from a layer stack's first model. */
  headTensors: string[];
  /** Config keys holding one value per layer, rewritten in the new layer order. */
  layerArrays: string[];
  /** Config keys whose value counts layers ("layers below this index are …"). */
  layerThresholds: string[];
  /** The attention kind of each layer that loaders derive from the layer's index when layer_types is absent. */
  impliedLayerTypes?: (config: ModelConfig, layers: number) => string[];
  /** Layer tensors (relative names) that write into the residual stream: zeroed, the block is the identity. */
  residualWriters: RegExp;
  /** The layer's tensors and shapes, for synthetic checkpoints. */
  layerTensors: (d: Dims) => TensorShapes;
  /** Config fields a synthetic checkpoint of this family carries besides the common ones. */
  configExtras: (d: Dims, layers: number) => ModelConfig;
  /** Whether the family ties the head to the embeddings when the config does not say. */
  tiedByDefault: boolean;
  /** The tensors the engine's decoder reads, by role. */
  decoderTensors: DecoderTensorNames;
  /** Mixture of experts: each layer holds Dims.experts expert MLPs and a router. */
  moe?: boolean;
}

// Per-layer config arrays that any family may carry (transformers ≥ 4.53 writes layer_types).
const COMMON_LAYER_ARRAYS = ["layer_types", "no_rope_layers"];
const SLIDING = "sliding_attention";
const FULL = "full_attention";

const attention = (d: Dims, p = "self_attn."): TensorShapes => [
  [`${p}q_proj.weight`, [d.heads * d.headDim, d.hidden]],
  [`${p}k_proj.weight`, [d.kvHeads * d.headDim, d.hidden]],
  [`${p}v_proj.weight`, [d.kvHeads * d.headDim, d.hidden]],
  [`${p}o_proj.weight`, [d.hidden, d.heads * d.headDim]],
];
const gatedMlp = (d: Dims): TensorShapes => [
  ["mlp.gate_proj.weight", [d.intermediate, d.hidden]],
  ["mlp.up_proj.weight", [d.intermediate, d.hidden]],
  ["mlp.down_proj.weight", [d.hidden, d.intermediate]],
];
const norms = (d: Dims, ...names: string[]): TensorShapes => names.map((n) => [`${n}.weight`, [d.hidden]]);
const llamaLayer = (d: Dims): TensorShapes => [
  ...attention(d),
  ...gatedMlp(d),
  ...norms(d, "input_layernorm", "post_attention_layernorm"),
];

// o_proj and down_proj (and Mixtral's expert w2) end each sub-block; their biases too where present.
const LLAMA_RESIDUAL_WRITERS = /^(self_attn\.o_proj|mlp\.down_proj)\.(weight|bias)$/;

const LLAMA_DECODER_TENSORS: DecoderTensorNames = {
  embed: "model.embed_tokens.weight",
  finalNorm: "model.norm.weight",
  head: "lm_head.weight",
  inputNorm: "input_layernorm.weight",
  postAttentionNorm: "post_attention_layernorm.weight",
  preFeedforwardNorm: "pre_feedforward_layernorm.weight",
  postFeedforwardNorm: "post_feedforward_layernorm.weight",
  q: "self_attn.q_proj",
  k: "self_attn.k_proj",
  v: "self_attn.v_proj",
  o: "self_attn.o_proj",
  qkv: "self_attn.qkv_proj",
  qNorm: "self_attn.q_norm.weight",
  kNorm: "self_attn.k_norm.weight",
  gate: "mlp.gate_proj",
  up: "mlp.up_proj",
  down: "mlp.down_proj",
  gateUp: "mlp.gate_up_proj",
};

const base = {
  layerCountKey: "num_hidden_layers",
  layerPrefix: "model.layers.",
  headTensors: [LLAMA_DECODER_TENSORS.embed],
  tailTensors: [LLAMA_DECODER_TENSORS.finalNorm, LLAMA_DECODER_TENSORS.head],
  decoderTensors: LLAMA_DECODER_TENSORS,
  layerArrays: COMMON_LAYER_ARRAYS,
  layerThresholds: [] as string[],
  residualWriters: LLAMA_RESIDUAL_WRITERS,
  layerTensors: llamaLayer,
  configExtras: (): ModelConfig => ({}),
  tiedByDefault: false,
};

/** Qwen2/Qwen3: with use_sliding_window, layers from max_window_layers on use the sliding window. */
const qwenLayerTypes = (c: ModelConfig, n: number): string[] => {
  const from = typeof c.max_window_layers === "number" ? c.max_window_layers : n;
  return Array.from({ length: n }, (_, i) => (c.use_sliding_window === true && i >= from ? SLIDING : FULL));
};

export const FAMILIES: readonly ArchFamily[] = [
  { ...base, family: "llama", architectures: ["LlamaForCausalLM"], modelType: "llama" },
  {
    ...base,
    family: "mistral",
    architectures: ["MistralForCausalLM"],
    modelType: "mistral",
    configExtras: () => ({ sliding_window: 4096 }),
  },
  {
    ...base,
    family: "mixtral",
    architectures: ["MixtralForCausalLM"],
    modelType: "mixtral",
    moe: true,
    residualWriters: /^(self_attn\.o_proj\.(weight|bias)|block_sparse_moe\.experts\.\d+\.w2\.weight)$/,
    layerTensors: (d) => [
      ...attention(d),
      ["block_sparse_moe.gate.weight", [d.experts, d.hidden]],
      ...Array.from({ length: d.experts }, (_, e): TensorShapes => [
        [`block_sparse_moe.experts.${e}.w1.weight`, [d.intermediate, d.hidden]],
        [`block_sparse_moe.experts.${e}.w2.weight`, [d.hidden, d.intermediate]],
        [`block_sparse_moe.experts.${e}.w3.weight`, [d.intermediate, d.hidden]],
      ]).flat(),
      ...norms(d, "input_layernorm", "post_attention_layernorm"),
    ],
    configExtras: (d) => ({ num_local_experts: d.experts, num_experts_per_tok: 2 }),
  },
  {
    ...base,
    family: "qwen2",
    architectures: ["Qwen2ForCausalLM"],
    modelType: "qwen2",
    layerThresholds: ["max_window_layers"],
    impliedLayerTypes: qwenLayerTypes,
    layerTensors: (d) => [
      ...llamaLayer(d),
      ["self_attn.q_proj.bias", [d.heads * d.headDim]],
      ["self_attn.k_proj.bias", [d.kvHeads * d.headDim]],
      ["self_attn.v_proj.bias", [d.kvHeads * d.headDim]],
    ],
    configExtras: (_d, n) => ({ use_sliding_window: false, sliding_window: 4096, max_window_layers: n }),
  },
  {
    ...base,
    family: "qwen3",
    architectures: ["Qwen3ForCausalLM"],
    modelType: "qwen3",
    layerThresholds: ["max_window_layers"],
    impliedLayerTypes: qwenLayerTypes,
    layerTensors: (d) => [
      ...llamaLayer(d),
      ["self_attn.q_norm.weight", [d.headDim]],
      ["self_attn.k_norm.weight", [d.headDim]],
    ],
    configExtras: (_d, n) => ({ use_sliding_window: false, sliding_window: null, max_window_layers: n }),
  },
  {
    ...base,
    family: "gemma",
    architectures: ["GemmaForCausalLM"],
    modelType: "gemma",
    tiedByDefault: true,
  },
  {
    ...base,
    family: "gemma2",
    architectures: ["Gemma2ForCausalLM"],
    modelType: "gemma2",
    tiedByDefault: true,
    // Gemma 2 alternates: even layers use the sliding window, odd layers attend globally.
    impliedLayerTypes: (_c, n) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? SLIDING : FULL)),
    layerTensors: (d) => [
      ...llamaLayer(d),
      ...norms(d, "pre_feedforward_layernorm", "post_feedforward_layernorm"),
    ],
    configExtras: () => ({
      sliding_window: 4096,
      final_logit_softcapping: 30.0,
      attn_logit_softcapping: 50.0,
    }),
  },
  {
    ...base,
    family: "gemma3_text",
    architectures: ["Gemma3ForCausalLM"],
    modelType: "gemma3_text",
    tiedByDefault: true,
    // Gemma 3: every sliding_window_pattern-th layer (1-based) is global, the others slide.
    impliedLayerTypes: (c, n) => {
      const p = typeof c.sliding_window_pattern === "number" ? c.sliding_window_pattern : 6;
      return Array.from({ length: n }, (_, i) => ((i + 1) % p !== 0 ? SLIDING : FULL));
    },
    layerTensors: (d) => [
      ...llamaLayer(d),
      ...norms(d, "pre_feedforward_layernorm", "post_feedforward_layernorm"),
      ["self_attn.q_norm.weight", [d.headDim]],
      ["self_attn.k_norm.weight", [d.headDim]],
    ],
    configExtras: () => ({ sliding_window: 512, sliding_window_pattern: 6 }),
  },
  {
    ...base,
    family: "phi3",
    architectures: ["Phi3ForCausalLM"],
    modelType: "phi3",
    layerTensors: (d) => [
      ["self_attn.qkv_proj.weight", [(d.heads + 2 * d.kvHeads) * d.headDim, d.hidden]],
      ["self_attn.o_proj.weight", [d.hidden, d.heads * d.headDim]],
      ["mlp.gate_up_proj.weight", [2 * d.intermediate, d.hidden]],
      ["mlp.down_proj.weight", [d.hidden, d.intermediate]],
      ...norms(d, "input_layernorm", "post_attention_layernorm"),
    ],
  },
  {
    ...base,
    family: "olmo2",
    architectures: ["Olmo2ForCausalLM"],
    modelType: "olmo2",
    // OLMo 2 normalises sub-block outputs (post-norm): RMSNorm(0) = 0, so zeroed blocks stay the identity.
    layerTensors: (d) => [
      ...attention(d),
      ["self_attn.q_norm.weight", [d.heads * d.headDim]],
      ["self_attn.k_norm.weight", [d.kvHeads * d.headDim]],
      ...gatedMlp(d),
      ...norms(d, "post_attention_layernorm", "post_feedforward_layernorm"),
    ],
  },
  {
    ...base,
    family: "granite",
    architectures: ["GraniteForCausalLM"],
    modelType: "granite",
    configExtras: () => ({
      embedding_multiplier: 12.0,
      residual_multiplier: 0.22,
      attention_multiplier: 0.0078125,
      logits_scaling: 8.0,
    }),
  },
];
