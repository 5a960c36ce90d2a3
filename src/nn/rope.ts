// Rotary position embeddings in the Hugging Face rotate-half layout: cos/sin tables [T, head_dim]
// whose two halves repeat the same frequencies, with the rope_scaling types transformers applies.
import type { DecoderConfig, RopeScaling } from "../arch/decoderConfig.js";

/** Inverse frequencies for head_dim, base theta, after `llama3` rescaling where asked. */
export function inverseFrequencies(
  headDim: number,
  theta: number,
  scaling?: RopeScaling | null,
): Float64Array {
  const half = headDim / 2;
  const inv = Float64Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  const kind = scaling?.rope_type ?? scaling?.type;
  if (kind === "llama3") {
    // checkDecoderConfig has required all four, as transformers does.
    const factor = scaling!.factor!;
    const low = scaling!.low_freq_factor!;
    const high = scaling!.high_freq_factor!;
    const oldCtx = scaling!.original_max_position_embeddings!;
    const lowWavelen = oldCtx / low;
    const highWavelen = oldCtx / high;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i]!;
      if (wavelen > lowWavelen) inv[i] = inv[i]! / factor;
      else if (wavelen >= highWavelen) {
        const smooth = (oldCtx / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (inv[i]! / factor) + smooth * inv[i]!;
      }
    }
  }
  return inv;
}

/**
 * cos and sin [positions.length, head_dim] for the given position ids (consecutive for a plain
 * forward, restarting at 0 for each packed example). `seqLen` is the total length the model sees,
 * which `dynamic` (NTK) scaling depends on (default: the largest position + 1).
 */
export function ropeTables(
  config: DecoderConfig,
  headDim: number,
  positions: readonly number[],
  opts: { local?: boolean; seqLen?: number } = {},
): { cos: Float32Array; sin: Float32Array } {
  let theta = opts.local ? (config.rope_local_base_freq ?? 10000) : (config.rope_theta ?? 10000);
  const scaling = opts.local ? null : config.rope_scaling;
  const kind = scaling?.rope_type ?? scaling?.type;
  let posScale = 1;
  if (kind === "linear") posScale = 1 / (scaling!.factor ?? 1);
  if (kind === "dynamic") {
    const maxPos = config.max_position_embeddings ?? 2048;
    const seqLen = Math.max(opts.seqLen ?? Math.max(0, ...positions) + 1, maxPos);
    const factor = scaling!.factor ?? 1;
    theta *= ((factor * seqLen) / maxPos - (factor - 1)) ** (headDim / (headDim - 2));
  }
  const inv = inverseFrequencies(headDim, theta, kind === "llama3" ? scaling : null);
  const half = headDim / 2;
  const T = positions.length;
  const cos = new Float32Array(T * headDim);
  const sin = new Float32Array(T * headDim);
  for (let t = 0; t < T; t++) {
    const pos = positions[t]! * posScale;
    for (let i = 0; i < half; i++) {
      const a = pos * inv[i]!;
      cos[t * headDim + i] = cos[t * headDim + i + half] = Math.cos(a);
      sin[t * headDim + i] = sin[t * headDim + i + half] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/**
 * The segment id of a prefix every segment of the row sees (shared-context scoring: one question's
 * context, then each answer in a segment of its own, positions restarting after the context).
 * Causality still holds by position, and the prefix's own tokens see only the prefix.
 */
export const SHARED_SEGMENT = -1;

/**
 * Additive attention mask [Q, S] for queries at positions `queryPos` over keys at positions `keyPos`
 * (−1 marks an empty cache slot): 0 where a key is at or before its query and within the window,
 * a large negative elsewhere. With `segments` (self-attention over one packed row, queries and keys
 * the same tokens), a token sees only its own segment and the shared prefix: a block-diagonal causal mask.
 */
export function attentionMask(
  queryPos: readonly number[],
  keyPos: readonly number[],
  window?: number,
  segments?: readonly number[],
): Float32Array {
  const Q = queryPos.length;
  const S = keyPos.length;
  const m = new Float32Array(Q * S);
  for (let t = 0; t < Q; t++) {
    const q = queryPos[t]!;
    for (let s = 0; s < S; s++) {
      const k = keyPos[s]!;
      const ok =
        k >= 0 &&
        k <= q &&
        (window === undefined || q - k < window) &&
        (segments === undefined || segments[s] === segments[t] || segments[s] === SHARED_SEGMENT);
      m[t * S + s] = ok ? 0 : -1e9;
    }
  }
  return m;
}
