import type { HostTensor } from "../runtime/session.js";
import type { ResolvedDecoder } from "./decoderConfig.js";
import { AUX } from "./llama.js";
import { attentionMask, ropeTables, ropeTablesAt, segmentMask } from "./rope.js";

// A graph takes only the tables its layers read (a model without sliding layers has no sliding
// mask); `takes` says which, so nothing is computed or fed that the graph would refuse.
type Takes = (name: string) => boolean;

/**
 * The decoder graph's non-parameter inputs besides tokens: RoPE tables (global and local) for
 * queries at [start, start + T) and the full and sliding masks over keys at `keyPos` (−1: empty slot).
 */
export function auxFeeds(
  d: ResolvedDecoder,
  start: number,
  T: number,
  keyPos: readonly number[],
  takes: Takes,
): Record<string, HostTensor> {
  const hd = d.rotaryDim;
  const feeds: Record<string, HostTensor> = {};
  for (const local of [false, true]) {
    if (!takes(AUX.cos(local)) && !takes(AUX.sin(local))) continue;
    const { cos, sin } = ropeTables(d.config, hd, start, T, {
      local,
      seqLen: Math.max(start + T, keyPos.length),
    });
    feeds[AUX.cos(local)] = { dtype: "float32", shape: [T, hd], data: cos };
    feeds[AUX.sin(local)] = { dtype: "float32", shape: [T, hd], data: sin };
  }
  const window = d.config.sliding_window ?? undefined;
  for (const sliding of [false, true]) {
    if (!takes(AUX.mask(sliding))) continue;
    feeds[AUX.mask(sliding)] = {
      dtype: "float32",
      shape: [T, keyPos.length],
      data: attentionMask(start, T, keyPos, sliding ? window : undefined),
    };
  }
  return feeds;
}

/**
 * Per-row inputs of a decoder built with `perRow`: RoPE tables [B, 1, T, rd] from each token's
 * position id and masks [B, 1, 1, T, T] that keep attention causal and inside each segment.
 */
export function perRowAuxFeeds(
  d: ResolvedDecoder,
  positions: readonly (readonly number[])[],
  segments: readonly (readonly number[])[],
  takes: Takes,
): Record<string, HostTensor> {
  const B = positions.length;
  const T = positions[0]?.length ?? 0;
  const hd = d.rotaryDim;
  const seqLen = Math.max(T, ...positions.map((r) => Math.max(0, ...r) + 1));
  const feeds: Record<string, HostTensor> = {};
  for (const local of [false, true]) {
    if (!takes(AUX.cos(local)) && !takes(AUX.sin(local))) continue;
    const cos = new Float32Array(B * T * hd);
    const sin = new Float32Array(B * T * hd);
    positions.forEach((row, b) => {
      const t = ropeTablesAt(d.config, hd, row, { local, seqLen });
      cos.set(t.cos, b * T * hd);
      sin.set(t.sin, b * T * hd);
    });
    feeds[AUX.cos(local)] = { dtype: "float32", shape: [B, 1, T, hd], data: cos };
    feeds[AUX.sin(local)] = { dtype: "float32", shape: [B, 1, T, hd], data: sin };
  }
  const window = d.config.sliding_window ?? undefined;
  for (const sliding of [false, true]) {
    if (!takes(AUX.mask(sliding))) continue;
    const mask = new Float32Array(B * T * T);
    positions.forEach((row, b) =>
      mask.set(segmentMask(row, segments[b]!, sliding ? window : undefined), b * T * T),
    );
    feeds[AUX.mask(sliding)] = { dtype: "float32", shape: [B, 1, 1, T, T], data: mask };
  }
  return feeds;
}

/** Key positions 0..T−1: a plain causal forward over T tokens. */
export const causalPositions = (T: number) => [...Array(T).keys()];
