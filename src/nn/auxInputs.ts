import type { HostTensor } from "../runtime/session.js";
import type { ResolvedDecoder } from "./decoderConfig.js";
import { AUX } from "./llama.js";
import { attentionMask, ropeTables } from "./rope.js";

/**
 * The decoder graph's non-parameter inputs besides tokens: RoPE tables (global and local) for
 * queries at [start, start + T) and the full and sliding masks over keys at `keyPos` (−1: empty slot).
 */
export function auxFeeds(
  d: ResolvedDecoder,
  start: number,
  T: number,
  keyPos: readonly number[],
): Record<string, HostTensor> {
  const hd = d.rotaryDim;
  const feeds: Record<string, HostTensor> = {};
  for (const local of [false, true]) {
    const { cos, sin } = ropeTables(d.config, hd, start, T, {
      local,
      seqLen: Math.max(start + T, keyPos.length),
    });
    feeds[AUX.cos(local)] = { dtype: "float32", shape: [T, hd], data: cos };
    feeds[AUX.sin(local)] = { dtype: "float32", shape: [T, hd], data: sin };
  }
  const window = d.config.sliding_window ?? undefined;
  for (const sliding of [false, true]) {
    feeds[AUX.mask(sliding)] = {
      dtype: "float32",
      shape: [T, keyPos.length],
      data: attentionMask(start, T, keyPos, sliding ? window : undefined),
    };
  }
  return feeds;
}

/** Key positions 0..T−1: a plain causal forward over T tokens. */
export const causalPositions = (T: number) => [...Array(T).keys()];
