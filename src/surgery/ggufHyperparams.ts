// The {arch}.* hyperparameters of a GGUF export, and the refusals where llama.cpp would compute
// something other than what transformers (and deepen's engine) compute from the same config.json:
// llama.cpp derives several values itself (Gemma's query scale, which layers slide, Gemma 3's local
// rope base) instead of reading them, so a config that departs from its rule cannot be expressed.
import { GGUFValueType } from "@huggingface/gguf";
import { type GgufArch, slidesAt } from "../arch/ggufArch.js";
import { ggufF32, ggufU32, type GgufMetadata } from "../checkpoint/gguf/ggufMetadata.js";
import { GgufExportError } from "../errors.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";

/** Context length written when config.json has no max_position_embeddings (transformers' Llama default). */
export const DEFAULT_CONTEXT_LENGTH = 2048;

const ropeType = (d: ResolvedDecoder) => {
  const rs = d.config.rope_scaling;
  return rs ? (rs.rope_type ?? rs.type ?? "default") : "default";
};

/** Refuses what llama.cpp's graph for `arch` would compute differently; returns notes for what only differs past a length. */
export function checkForLlamaCpp(d: ResolvedDecoder, arch: GgufArch): string[] {
  const c = d.config;
  const refuse = (why: string) => new GgufExportError(`${d.source}: cannot export to GGUF: ${why}`);
  const notes: string[] = [];
  const rope = ropeType(d);
  if (rope !== "default" && !arch.ropeScaling.includes(rope))
    throw refuse(
      `rope_scaling type ${rope} is not applied by llama.cpp's ${arch.arch} the way transformers applies it`,
    );
  if (arch.permuteQK && d.rotaryDim !== d.headDim)
    throw refuse(
      `partial_rotary_factor ${c.partial_rotary_factor} on ${arch.arch}, whose q/k reordering covers whole heads`,
    );
  if (c.attention_multiplier !== undefined && !arch.graniteScales)
    throw refuse(`attention_multiplier is read only by llama.cpp's granite, not ${arch.arch}`);
  for (const key of ["embedding_multiplier", "residual_multiplier", "logits_scaling"] as const) {
    if (c[key] !== undefined && !arch.graniteScales)
      throw refuse(`${key} is read only by llama.cpp's granite, not ${arch.arch}`);
  }
  // llama.cpp's query scale: the arch's fixed rule, or granite's attention.scale.
  if (c.query_pre_attn_scalar !== undefined) {
    const rule = arch.gemmaQueryScale;
    const llamaCppDim =
      rule && c.num_hidden_layers === rule.layers27B ? c.hidden_size / c.num_attention_heads : d.headDim;
    if (c.query_pre_attn_scalar !== llamaCppDim)
      throw refuse(
        `query_pre_attn_scalar ${c.query_pre_attn_scalar}: llama.cpp's ${arch.arch} scales queries by 1/sqrt(${llamaCppDim}) ` +
          (rule ? `(head_dim, or hidden/heads at ${rule.layers27B} layers)` : "(head_dim)"),
      );
  }
  if (!arch.softcapping && (c.attn_logit_softcapping || c.final_logit_softcapping))
    throw refuse(`logit soft-capping is not applied by llama.cpp's ${arch.arch}`);
  if (arch.softcapping && (!c.attn_logit_softcapping || !c.final_logit_softcapping))
    throw refuse(
      `llama.cpp's ${arch.arch} always soft-caps logits (defaults 50 and 30); this config turns it off`,
    );
  if (arch.localRopeBase !== undefined && (c.rope_local_base_freq ?? 10000) !== arch.localRopeBase)
    throw refuse(
      `rope_local_base_freq ${c.rope_local_base_freq}: llama.cpp's ${arch.arch} uses ${arch.localRopeBase} for sliding layers`,
    );
  const window = typeof c.sliding_window === "number" && c.sliding_window > 0 ? c.sliding_window : undefined;
  const slides = d.sliding.some(Boolean);
  if (arch.swaPattern !== undefined) {
    const p = arch.swaPattern;
    const expected = d.sliding.map((_, i) => slidesAt(i, p));
    if (!window) throw refuse(`llama.cpp's ${arch.arch} needs a sliding_window`);
    const at = d.sliding.findIndex((s, i) => s !== expected[i]);
    if (at >= 0)
      throw refuse(
        `layer ${at} ${d.sliding[at] ? "slides" : "attends globally"}: llama.cpp's ${arch.arch} makes every ${p === 2 ? "second" : `${p}th`} layer global and slides the others`,
      );
  } else if (slides && !arch.slidingWindow) {
    if (d.sliding.every(Boolean))
      notes.push(
        `llama.cpp's ${arch.arch} attends over the whole context: the same as the sliding window of ${window} up to ${window} tokens`,
      );
    else throw refuse(`some layers use a sliding window, which llama.cpp's ${arch.arch} does not apply`);
  }
  if (arch.headIsEmbedding && c.tie_word_embeddings === false)
    throw refuse(`an untied lm_head: llama.cpp's ${arch.arch} always uses the embeddings as the head`);
  return notes;
}

/** The {arch}.* keys; `rows` is the embedding's row count (and the vocabulary written). */
export function hyperparams(d: ResolvedDecoder, arch: GgufArch, rows: number): GgufMetadata {
  const c = d.config;
  const a = arch.arch;
  const m: GgufMetadata = new Map();
  m.set(`${a}.context_length`, ggufU32(c.max_position_embeddings ?? DEFAULT_CONTEXT_LENGTH));
  m.set(`${a}.embedding_length`, ggufU32(c.hidden_size));
  m.set(`${a}.block_count`, ggufU32(c.num_hidden_layers));
  m.set(`${a}.feed_forward_length`, ggufU32(c.intermediate_size));
  m.set(`${a}.attention.head_count`, ggufU32(d.heads));
  m.set(`${a}.attention.head_count_kv`, ggufU32(d.kvHeads));
  m.set(`${a}.attention.key_length`, ggufU32(d.headDim));
  m.set(`${a}.attention.value_length`, ggufU32(d.headDim));
  m.set(`${a}.rope.dimension_count`, ggufU32(d.rotaryDim));
  m.set(`${a}.rope.freq_base`, ggufF32(c.rope_theta ?? 10000));
  m.set(`${a}.attention.layer_norm_rms_epsilon`, ggufF32(c.rms_norm_eps));
  m.set(`${a}.vocab_size`, ggufU32(rows));
  if (ropeType(d) === "linear") {
    m.set(`${a}.rope.scaling.type`, { type: GGUFValueType.STRING, value: "linear" });
    m.set(`${a}.rope.scaling.factor`, ggufF32(c.rope_scaling!.factor ?? 1));
  }
  if (arch.slidingWindow && typeof c.sliding_window === "number" && c.sliding_window > 0)
    m.set(`${a}.attention.sliding_window`, ggufU32(c.sliding_window));
  if (arch.softcapping) {
    m.set(`${a}.attn_logit_softcapping`, ggufF32(c.attn_logit_softcapping!));
    m.set(`${a}.final_logit_softcapping`, ggufF32(c.final_logit_softcapping!));
  }
  if (arch.graniteScales) {
    if (c.attention_multiplier !== undefined) m.set(`${a}.attention.scale`, ggufF32(c.attention_multiplier));
    if (c.embedding_multiplier !== undefined) m.set(`${a}.embedding_scale`, ggufF32(c.embedding_multiplier));
    if (c.residual_multiplier !== undefined) m.set(`${a}.residual_scale`, ggufF32(c.residual_multiplier));
    if (c.logits_scaling !== undefined) m.set(`${a}.logit_scale`, ggufF32(c.logits_scaling));
  }
  return m;
}

/**
 * Llama 3 rope scaling as llama.cpp's llama graph reads it: one divisor per rotary frequency
 * (rope_freqs.weight), computed as llama.cpp's converter does from the rope_scaling fields.
 */
export function llama3RopeFactors(d: ResolvedDecoder): Float32Array | undefined {
  const rs = d.config.rope_scaling;
  if (ropeType(d) !== "llama3" || !rs) return undefined;
  const theta = d.config.rope_theta ?? 10000;
  const factor = rs.factor!;
  const low = rs.low_freq_factor!;
  const high = rs.high_freq_factor!;
  const oldCtx = rs.original_max_position_embeddings!;
  const half = d.rotaryDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / (1 / theta ** ((2 * i) / d.rotaryDim));
    if (wavelen < oldCtx / high) out[i] = 1;
    else if (wavelen > oldCtx / low) out[i] = factor;
    else {
      const smooth = (oldCtx / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}
