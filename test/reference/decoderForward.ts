// A plain float64 forward pass of Hugging Face decoder-only language models: loops over typed arrays
// and nothing else. It is the independent reference that tests hold deepen's graph engine to, so it
// follows the transformers modeling files (named beside each rule below), not deepen's own code.
//
// Reading order: load the checkpoint → describe the architecture as a handful of plain settings
// (`Model`) → run the layers → the head. Every architecture is one case of `describe`.
import { decodeFloats, DTYPE_BYTES } from "../../src/checkpoint/dtype.js";
import { openModelFolder, type ModelConfig } from "../../src/checkpoint/modelFolder.js";
import { tensorBytes } from "../helpers.js";

export interface ReferenceOptions {
  /**
   * Rotary position of each token (transformers' position_ids); default 0, 1, …, T−1. The causal and
   * sliding-window masks always use the token's index in the sequence, as transformers'
   * cache_position does; only RoPE reads these.
   */
  positions?: number[];
}

/** Logits [T][vocab] of the decoder checkpoint in `dir` for `tokens`, computed in float64. */
export async function referenceLogits(
  dir: string,
  tokens: number[],
  options: ReferenceOptions = {},
): Promise<Float64Array[]> {
  const { m, weights, boundaries } = await forward(dir, tokens, options);
  const xs = boundaries[boundaries.length - 1]!;
  const embed = weights.get("model.embed_tokens.weight");

  // Final norm, head (tied to the embeddings when lm_head.weight is absent), logit post-processing.
  const head = weights.has("lm_head.weight") ? weights.get("lm_head.weight") : embed;
  const finalNorm = weights.get("model.norm.weight");
  return xs.map((x) => {
    const logits = matvec(head, rmsNorm(x, finalNorm, m.eps, m.normPlusOne));
    for (let i = 0; i < logits.length; i++) {
      let v = logits[i]! / m.logitsDivisor; // Granite: logits / logits_scaling
      if (m.finalSoftcap !== null) v = Math.tanh(v / m.finalSoftcap) * m.finalSoftcap; // Gemma 2/3
      logits[i] = v;
    }
    return logits;
  });
}

/**
 * The residual stream at every layer boundary, [n + 1][T][hidden]: entry 0 the (scaled) embeddings,
 * entry l + 1 the output of layer l, before the final norm (transformers' output_hidden_states,
 * except that its last entry is after the final norm).
 */
export async function referenceHiddenStates(
  dir: string,
  tokens: number[],
  options: ReferenceOptions = {},
): Promise<Float64Array[][]> {
  return (await forward(dir, tokens, options)).boundaries;
}

async function forward(dir: string, tokens: number[], options: ReferenceOptions) {
  const { config, weights } = await loadCheckpoint(dir);
  const m = describe(config);
  const positions = options.positions ?? tokens.map((_, i) => i);
  if (positions.length !== tokens.length) {
    throw new Error(`${positions.length} positions given for ${tokens.length} tokens`);
  }
  const embed = weights.get("model.embed_tokens.weight");
  const vocab = embed.length / m.hidden;
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= vocab)
      throw new Error(`token ${t} is outside the vocabulary [0, ${vocab})`);
  }

  // Embeddings (Gemma: × sqrt(hidden_size); Granite: × embedding_multiplier).
  let xs = tokens.map((t) => scaled(embed.slice(t * m.hidden, (t + 1) * m.hidden), m.embedScale));
  const boundaries = [xs];

  // RoPE frequencies depend on the layer (Gemma 3 local/global) and, for "dynamic", on the length.
  const seqLen = Math.max(...positions) + 1;
  for (let l = 0; l < m.layers.length; l++) {
    const invFreq = inverseFrequencies(m.layers[l]!.rope, m.rotaryDim, seqLen);
    xs = decoderLayer(m, weights, l, xs, positions, invFreq);
    boundaries.push(xs);
  }
  return { m, weights, boundaries };
}

/**
 * RoPE inv_freq (length rotary_dim / 2) of a config's layers of kind `layerType`, for a forward pass
 * whose largest position is seqLen − 1: the numbers referenceLogits rotates with.
 */
export function ropeInverseFrequencies(config: ModelConfig, layerType = FULL, seqLen = 1): Float64Array {
  const m = describe(config);
  return inverseFrequencies(ropeOf(config, m.arch, layerType), m.rotaryDim, seqLen);
}

// ───────────────────────────── weights ─────────────────────────────

class Weights {
  constructor(private readonly map: Map<string, Float64Array>) {}
  has(name: string): boolean {
    return this.map.has(name);
  }
  get(name: string): Float64Array {
    const t = this.map.get(name);
    if (!t) throw new Error(`the checkpoint has no tensor ${name}`);
    return t;
  }
  /** The tensor if the checkpoint has it (optional biases). */
  maybe(name: string): Float64Array | undefined {
    return this.map.get(name);
  }
}

async function loadCheckpoint(dir: string): Promise<{ config: ModelConfig; weights: Weights }> {
  const folder = await openModelFolder(dir);
  const map = new Map<string, Float64Array>();
  for (const [name, entry] of folder.tensors) {
    const bytes = await tensorBytes(entry);
    if (entry.dtype === "F64") {
      map.set(name, new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
      continue;
    }
    const f32 = new Float32Array(bytes.length / DTYPE_BYTES[entry.dtype]);
    decodeFloats(entry.dtype, bytes, f32); // F32, F16, BF16; throws for anything else
    map.set(name, Float64Array.from(f32));
  }
  return { config: folder.config, weights: new Weights(map) };
}

// ───────────────────────────── the architecture as settings ─────────────────────────────

interface Rope {
  type: "default" | "linear" | "dynamic" | "llama3";
  theta: number;
  factor: number;
  /** dynamic: max_position_embeddings; llama3: rope_scaling.original_max_position_embeddings. */
  originalMax: number;
  lowFreqFactor: number;
  highFreqFactor: number;
}

interface Layer {
  /** A token at index i sees index j when 0 <= i − j < window; null: the whole causal prefix. */
  window: number | null;
  rope: Rope;
}

interface Model {
  arch: string;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Leading dimensions of each head that RoPE rotates (Phi-3's partial_rotary_factor), even. */
  rotaryDim: number;
  eps: number;
  /** Gemma's RMSNorm multiplies by (1 + w) instead of w. */
  normPlusOne: boolean;
  /**
   * "pre": x + attn(norm x), then x + mlp(norm x) (Llama).
   * "sandwich": x + norm(attn(norm x)), then x + norm(mlp(norm x)) (Gemma 2/3).
   * "post": x + norm(attn x), then x + norm(mlp x) (OLMo 2).
   */
  blocks: "pre" | "sandwich" | "post";
  /** q_norm/k_norm: none, per head over head_dim (Qwen 3, Gemma 3), or over the whole projection (OLMo 2). */
  qkNorm: "none" | "head" | "whole";
  /** Phi-3: qkv_proj = [q; k; v] rows, gate_up_proj = [gate; up] rows. */
  fused: boolean;
  activation: (x: number) => number;
  embedScale: number;
  attnScale: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  residualScale: number;
  logitsDivisor: number;
  layers: Layer[];
}

const SLIDING = "sliding_attention";
const FULL = "full_attention";

function describe(c: ModelConfig): Model {
  const archs = c.architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === "string" ? archs[0] : undefined;
  if (arch === undefined) throw new Error("config.json names no architectures[0]");
  const known = [
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen3ForCausalLM",
    "GemmaForCausalLM",
    "Gemma2ForCausalLM",
    "Gemma3ForCausalLM",
    "Phi3ForCausalLM",
    "Olmo2ForCausalLM",
    "GraniteForCausalLM",
  ];
  if (!known.includes(arch)) throw new Error(`the reference forward pass does not implement ${arch}`);
  const gemma = arch.startsWith("Gemma");

  const hidden = num(c, "hidden_size");
  const heads = num(c, "num_attention_heads");
  const kvHeads = num(c, "num_key_value_heads", heads);
  const L = num(c, "num_hidden_layers");
  // head_dim: the config's, else the class default (Gemma 256, Qwen3 128), else hidden / heads.
  const classHeadDim = gemma ? 256 : arch === "Qwen3ForCausalLM" ? 128 : undefined;
  const headDim =
    c.head_dim === undefined && classHeadDim !== undefined
      ? classHeadDim
      : num(c, "head_dim", hidden / heads);
  if (!Number.isInteger(headDim) || heads % kvHeads !== 0) {
    throw new Error(`config.json: head_dim ${headDim}, ${heads} heads, ${kvHeads} kv heads do not fit`);
  }
  // Phi-3 rotates the first partial_rotary_factor of each head (modeling_phi3 apply_rotary_pos_emb).
  const rotaryDim =
    arch === "Phi3ForCausalLM" ? Math.floor(headDim * num(c, "partial_rotary_factor", 1)) : headDim;
  if (rotaryDim % 2 !== 0) throw new Error(`rotary dimension ${rotaryDim} is odd`);

  const epsDefault = arch === "Phi3ForCausalLM" || arch === "Olmo2ForCausalLM" ? 1e-5 : 1e-6;

  // Which layers slide, and by how much.
  const layerTypes = (implied: (i: number) => boolean): string[] => {
    const given = c.layer_types;
    if (given === undefined || given === null)
      return Array.from({ length: L }, (_, i) => (implied(i) ? SLIDING : FULL));
    if (!Array.isArray(given) || given.length !== L || given.some((t) => t !== SLIDING && t !== FULL)) {
      throw new Error(`config.json: layer_types must list ${L} of "${SLIDING}" / "${FULL}"`);
    }
    return given as string[];
  };
  let types: string[] = Array.from({ length: L }, () => FULL);
  let window: number | null = null;
  switch (arch) {
    case "MistralForCausalLM":
    case "Phi3ForCausalLM": {
      // Every layer slides when sliding_window is set (MistralConfig defaults it to 4096, Phi3Config to None).
      window = optNum(c, "sliding_window", arch === "MistralForCausalLM" ? 4096 : null);
      if (window !== null) types = types.map(() => SLIDING);
      break;
    }
    case "Qwen2ForCausalLM":
    case "Qwen3ForCausalLM": {
      // configuration_qwen2/qwen3: sliding_window counts only with use_sliding_window; the layers from
      // max_window_layers on slide unless layer_types says otherwise.
      window = c.use_sliding_window === true ? optNum(c, "sliding_window", 4096) : null;
      const from = num(c, "max_window_layers", 28);
      types = layerTypes((i) => window !== null && i >= from);
      break;
    }
    case "Gemma2ForCausalLM": {
      window = optNum(c, "sliding_window", 4096);
      types = layerTypes((i) => i % 2 === 0); // configuration_gemma2: even layers slide
      break;
    }
    case "Gemma3ForCausalLM": {
      window = optNum(c, "sliding_window", 4096);
      const pattern = num(c, "sliding_window_pattern", 6);
      types = layerTypes((i) => (i + 1) % pattern !== 0); // every pattern-th layer (1-based) is global
      break;
    }
  }

  const layers: Layer[] = types.map((type) => ({
    window: type === SLIDING ? window : null,
    rope: ropeOf(c, arch, type),
  }));

  // MLP activation: Gemma reads hidden_activation (default gelu_pytorch_tanh); the others hidden_act.
  const act = gemma ? str(c, "hidden_activation", "gelu_pytorch_tanh") : str(c, "hidden_act", "silu");

  // Attention scale: Gemma 2/3 use query_pre_attn_scalar^-0.5, Granite attention_multiplier.
  let attnScale = 1 / Math.sqrt(headDim);
  if (arch === "Gemma2ForCausalLM" || arch === "Gemma3ForCausalLM")
    attnScale = 1 / Math.sqrt(num(c, "query_pre_attn_scalar", 256));
  if (arch === "GraniteForCausalLM") attnScale = num(c, "attention_multiplier", 1);

  const granite = arch === "GraniteForCausalLM";
  const m: Model = {
    arch,
    hidden,
    heads,
    kvHeads,
    headDim,
    rotaryDim,
    eps: num(c, "rms_norm_eps", epsDefault),
    normPlusOne: gemma,
    blocks:
      arch === "Gemma2ForCausalLM" || arch === "Gemma3ForCausalLM"
        ? "sandwich"
        : arch === "Olmo2ForCausalLM"
          ? "post"
          : "pre",
    qkNorm:
      arch === "Qwen3ForCausalLM" || arch === "Gemma3ForCausalLM"
        ? "head"
        : arch === "Olmo2ForCausalLM"
          ? "whole"
          : "none",
    fused: arch === "Phi3ForCausalLM",
    activation: activation(act),
    embedScale: gemma ? Math.sqrt(hidden) : granite ? num(c, "embedding_multiplier", 1) : 1,
    attnScale,
    // Gemma 2 soft-caps attention scores (eager attention); Gemma 3's attention does not pass the cap on.
    attnSoftcap: arch === "Gemma2ForCausalLM" ? optNum(c, "attn_logit_softcapping", 50) : null,
    finalSoftcap:
      arch === "Gemma2ForCausalLM"
        ? optNum(c, "final_logit_softcapping", 30)
        : arch === "Gemma3ForCausalLM"
          ? optNum(c, "final_logit_softcapping", null)
          : null,
    residualScale: granite ? num(c, "residual_multiplier", 1) : 1,
    logitsDivisor: granite ? num(c, "logits_scaling", 1) : 1,
    layers,
  };
  return m;
}

/**
 * The RoPE settings of a layer. transformers < 5 writes rope_theta + rope_scaling (Gemma 3: sliding
 * layers use rope_local_base_freq and no scaling); transformers 5 writes rope_parameters, for Gemma 3
 * one entry per layer type.
 */
function ropeOf(c: ModelConfig, arch: string, layerType: string): Rope {
  const thetaDefault = arch === "Gemma3ForCausalLM" ? 1_000_000 : 10_000; // the config classes' defaults
  let p: Record<string, unknown>;
  const rp = c.rope_parameters;
  if (isObject(rp)) {
    const perType = rp[layerType];
    p = isObject(perType) ? perType : rp;
  } else if (arch === "Gemma3ForCausalLM" && layerType === SLIDING) {
    p = { rope_type: "default", rope_theta: num(c, "rope_local_base_freq", 10_000) };
  } else {
    p = { ...(isObject(c.rope_scaling) ? c.rope_scaling : {}) };
  }
  const theta = typeof p.rope_theta === "number" ? p.rope_theta : num(c, "rope_theta", thetaDefault);
  const type = String(p.rope_type ?? p.type ?? "default");
  const field = (k: string): number => {
    if (typeof p[k] !== "number") throw new Error(`config.json: RoPE type ${type} needs a number ${k}`);
    return p[k] as number;
  };
  switch (type) {
    case "default":
      return { type: "default", theta, factor: 1, originalMax: 0, lowFreqFactor: 0, highFreqFactor: 0 };
    case "linear":
      return {
        type: "linear",
        theta,
        factor: field("factor"),
        originalMax: 0,
        lowFreqFactor: 0,
        highFreqFactor: 0,
      };
    case "dynamic":
      // modeling_rope_utils._compute_dynamic_ntk_parameters reads config.max_position_embeddings.
      return {
        type: "dynamic",
        theta,
        factor: field("factor"),
        originalMax: num(c, "max_position_embeddings"),
        lowFreqFactor: 0,
        highFreqFactor: 0,
      };
    case "llama3":
      return {
        type: "llama3",
        theta,
        factor: field("factor"),
        originalMax: field("original_max_position_embeddings"),
        lowFreqFactor: field("low_freq_factor"),
        highFreqFactor: field("high_freq_factor"),
      };
    default:
      throw new Error(`the reference forward pass does not implement RoPE type ${type}`);
  }
}

/**
 * inv_freq[i] for i < dim/2, as modeling_rope_utils computes it (there in float32, here in float64).
 * `seqLen` is max(position) + 1 of this forward call (dynamic NTK only).
 */
function inverseFrequencies(r: Rope, dim: number, seqLen: number): Float64Array {
  const half = dim / 2;
  const plain = (base: number) => Float64Array.from({ length: half }, (_, i) => 1 / base ** ((2 * i) / dim));
  switch (r.type) {
    case "default":
      return plain(r.theta);
    case "linear":
      return plain(r.theta).map((f) => f / r.factor); // same as dividing positions by factor
    case "dynamic": {
      // NTK: past max_position_embeddings the base grows with the sequence; below it, plain RoPE.
      if (seqLen <= r.originalMax) return plain(r.theta);
      const base = r.theta * ((r.factor * seqLen) / r.originalMax - (r.factor - 1)) ** (dim / (dim - 2));
      return plain(base);
    }
    case "llama3": {
      // Long wavelengths are divided by factor, short ones kept, the band between interpolated.
      const lowFreqWavelen = r.originalMax / r.lowFreqFactor;
      const highFreqWavelen = r.originalMax / r.highFreqFactor;
      return plain(r.theta).map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highFreqWavelen) return f;
        if (wavelen > lowFreqWavelen) return f / r.factor;
        const smooth = (r.originalMax / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
        return (1 - smooth) * (f / r.factor) + smooth * f;
      });
    }
  }
}

// ───────────────────────────── the layers ─────────────────────────────

function decoderLayer(
  m: Model,
  w: Weights,
  l: number,
  xs: Float64Array[],
  positions: number[],
  invFreq: Float64Array,
): Float64Array[] {
  const p = `model.layers.${l}.`;
  const norm = (name: string) => (x: Float64Array) =>
    rmsNorm(x, w.get(`${p}${name}.weight`), m.eps, m.normPlusOne);

  // Attention sub-block.
  let a = m.blocks === "post" ? xs : xs.map(norm("input_layernorm"));
  a = attention(m, w, p, m.layers[l]!.window, a, positions, invFreq);
  if (m.blocks !== "pre") a = a.map(norm("post_attention_layernorm"));
  xs = xs.map((x, t) => addScaled(x, a[t]!, m.residualScale));

  // MLP sub-block.
  let f =
    m.blocks === "pre"
      ? xs.map(norm("post_attention_layernorm"))
      : m.blocks === "sandwich"
        ? xs.map(norm("pre_feedforward_layernorm"))
        : xs;
  f = f.map((h) => mlp(m, w, p, h));
  if (m.blocks !== "pre") f = f.map(norm("post_feedforward_layernorm"));
  return xs.map((x, t) => addScaled(x, f[t]!, m.residualScale));
}

function attention(
  m: Model,
  w: Weights,
  p: string,
  window: number | null,
  hs: Float64Array[],
  positions: number[],
  invFreq: Float64Array,
): Float64Array[] {
  const { heads, kvHeads, headDim: hd } = m;
  const qSize = heads * hd;
  const kvSize = kvHeads * hd;

  // Projections, q/k norms and RoPE, one token at a time.
  const qs: Float64Array[] = [];
  const ks: Float64Array[] = [];
  const vs: Float64Array[] = [];
  hs.forEach((h, t) => {
    let q: Float64Array, k: Float64Array, v: Float64Array;
    if (m.fused) {
      const qkv = linear(w, `${p}self_attn.qkv_proj`, h);
      q = qkv.slice(0, qSize);
      k = qkv.slice(qSize, qSize + kvSize);
      v = qkv.slice(qSize + kvSize, qSize + 2 * kvSize);
    } else {
      q = linear(w, `${p}self_attn.q_proj`, h);
      k = linear(w, `${p}self_attn.k_proj`, h);
      v = linear(w, `${p}self_attn.v_proj`, h);
    }
    if (m.qkNorm === "whole") {
      q = rmsNorm(q, w.get(`${p}self_attn.q_norm.weight`), m.eps, m.normPlusOne);
      k = rmsNorm(k, w.get(`${p}self_attn.k_norm.weight`), m.eps, m.normPlusOne);
    } else if (m.qkNorm === "head") {
      q = perHead(q, hd, (x) => rmsNorm(x, w.get(`${p}self_attn.q_norm.weight`), m.eps, m.normPlusOne));
      k = perHead(k, hd, (x) => rmsNorm(x, w.get(`${p}self_attn.k_norm.weight`), m.eps, m.normPlusOne));
    }
    qs.push(perHead(q, hd, (x) => applyRope(x, positions[t]!, invFreq)));
    ks.push(perHead(k, hd, (x) => applyRope(x, positions[t]!, invFreq)));
    vs.push(v);
  });

  // Scaled dot-product attention over the allowed keys; query head h reads kv head h / (heads / kvHeads).
  const group = heads / kvHeads;
  return qs.map((q, i) => {
    const out = new Float64Array(qSize);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      const keys: number[] = [];
      const scores: number[] = [];
      for (let j = 0; j <= i; j++) {
        if (window !== null && i - j >= window) continue;
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += q[h * hd + d]! * ks[j]![g * hd + d]!;
        let s = dot * m.attnScale;
        if (m.attnSoftcap !== null) s = Math.tanh(s / m.attnSoftcap) * m.attnSoftcap;
        keys.push(j);
        scores.push(s);
      }
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const z = e.reduce((a, b) => a + b, 0);
      keys.forEach((j, n) => {
        const weight = e[n]! / z;
        for (let d = 0; d < hd; d++) out[h * hd + d]! += weight * vs[j]![g * hd + d]!;
      });
    }
    return linear(w, `${p}self_attn.o_proj`, out);
  });
}

/** Gated MLP: down(act(gate x) · up x). */
function mlp(m: Model, w: Weights, p: string, h: Float64Array): Float64Array {
  let gate: Float64Array, up: Float64Array;
  if (m.fused) {
    const gu = linear(w, `${p}mlp.gate_up_proj`, h);
    gate = gu.slice(0, gu.length / 2);
    up = gu.slice(gu.length / 2);
  } else {
    gate = linear(w, `${p}mlp.gate_proj`, h);
    up = linear(w, `${p}mlp.up_proj`, h);
  }
  const act = gate.map((g, i) => m.activation(g) * up[i]!);
  return linear(w, `${p}mlp.down_proj`, act);
}

// ───────────────────────────── small pieces ─────────────────────────────

/** x / sqrt(mean(x²) + eps) · w, or · (1 + w) for Gemma. */
function rmsNorm(x: Float64Array, weight: Float64Array, eps: number, plusOne: boolean): Float64Array {
  if (weight.length !== x.length)
    throw new Error(`norm weight of ${weight.length} for a vector of ${x.length}`);
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * (plusOne ? 1 + weight[i]! : weight[i]!));
}

/** y = W x (+ b) for a Linear stored [out, in] row-major; the bias only where the checkpoint has one. */
function linear(w: Weights, name: string, x: Float64Array): Float64Array {
  const y = matvec(w.get(`${name}.weight`), x);
  const b = w.maybe(`${name}.bias`);
  if (b) for (let o = 0; o < y.length; o++) y[o]! += b[o]!;
  return y;
}

function matvec(W: Float64Array, x: Float64Array): Float64Array {
  const n = x.length;
  if (W.length % n !== 0) throw new Error(`a matrix of ${W.length} elements cannot take a vector of ${n}`);
  const out = new Float64Array(W.length / n);
  for (let o = 0; o < out.length; o++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += W[o * n + i]! * x[i]!;
    out[o] = s;
  }
  return out;
}

/** Applies `f` to each head_dim slice of `x`, in place of that slice. */
function perHead(x: Float64Array, hd: number, f: (head: Float64Array) => Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let h = 0; h < x.length / hd; h++) out.set(f(x.slice(h * hd, (h + 1) * hd)), h * hd);
  return out;
}

/**
 * Rotate-half RoPE (transformers' layout: v·cos + rotate_half(v)·sin with rotate_half(v) = [−v₂; v₁]):
 * dimension i pairs with i + dim/2, both turned by pos · inv_freq[i]; dimensions past the rotary
 * dimension (2 · inv_freq.length) pass through.
 */
export function applyRope(v: Float64Array, pos: number, invFreq: Float64Array): Float64Array {
  const half = invFreq.length;
  const out = Float64Array.from(v);
  for (let i = 0; i < half; i++) {
    const angle = pos * invFreq[i]!;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out[i] = v[i]! * c - v[i + half]! * s;
    out[i + half] = v[i + half]! * c + v[i]! * s;
  }
  return out;
}

function scaled(x: Float64Array, k: number): Float64Array {
  return k === 1 ? x : x.map((v) => v * k);
}

function addScaled(x: Float64Array, y: Float64Array, k: number): Float64Array {
  return x.map((v, i) => v + y[i]! * k);
}

/** transformers' ACT2FN entries that gated MLPs of these families use. */
function activation(name: string): (x: number) => number {
  switch (name) {
    case "silu":
    case "swish":
      return (x) => x / (1 + Math.exp(-x));
    case "gelu_pytorch_tanh":
    case "gelu_new":
    case "gelu_fast":
      return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    case "gelu":
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case "relu":
      return (x) => Math.max(0, x);
    default:
      throw new Error(`the reference forward pass does not implement the activation ${name}`);
  }
}

/** erf to ~1e-15: its Maclaurin series below 2.5, the continued fraction of erfc above. */
function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = a;
    for (let k = 120; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? -r : r;
}

// ───────────────────────────── config fields ─────────────────────────────

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A number field; absent or null takes `fallback` where there is one. */
function num(c: ModelConfig, key: string, fallback?: number): number {
  const v = c[key];
  if (typeof v === "number") return v;
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  throw new Error(`config.json: ${key} is ${JSON.stringify(v)}, expected a number`);
}

/** A number field where null means "off": absent takes `fallback`. */
function optNum(c: ModelConfig, key: string, fallback: number | null): number | null {
  const v = c[key];
  if (v === undefined) return fallback;
  if (v === null || typeof v === "number") return v;
  throw new Error(`config.json: ${key} is ${JSON.stringify(v)}, expected a number or null`);
}

function str(c: ModelConfig, key: string, fallback: string): string {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string")
    throw new Error(`config.json: ${key} is ${JSON.stringify(v)}, expected a string`);
  return v;
}
