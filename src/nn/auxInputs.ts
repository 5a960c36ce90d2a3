import type { HostTensor } from "../runtime/session.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";
import { AUX } from "./llama.js";
import { attentionMask, ropeTables } from "./rope.js";

// A graph takes only the tables its layers read (a model without sliding layers has no sliding
// mask); `takes` says which, so nothing is computed or fed that the graph would refuse.
type Takes = (name: string) => boolean;

/** One row's RoPE tables [Q, rd] and masks [Q, S], by graph input name, for the inputs taken. */
function rowTables(
  d: ResolvedDecoder,
  queryPos: readonly number[],
  keyPos: readonly number[],
  takes: Takes,
  seqLen: number,
  segments?: readonly number[],
): Map<string, Float32Array> {
  const tables = new Map<string, Float32Array>();
  for (const local of [false, true]) {
    if (!takes(AUX.cos(local)) && !takes(AUX.sin(local))) continue;
    const { cos, sin } = ropeTables(d.config, d.rotaryDim, queryPos, { local, seqLen });
    tables.set(AUX.cos(local), cos).set(AUX.sin(local), sin);
  }
  const window = d.config.sliding_window ?? undefined;
  for (const sliding of [false, true]) {
    if (takes(AUX.mask(sliding)))
      tables.set(AUX.mask(sliding), attentionMask(queryPos, keyPos, sliding ? window : undefined, segments));
  }
  return tables;
}

const isRope = (name: string) => [false, true].some((l) => name === AUX.cos(l) || name === AUX.sin(l));

/**
 * The decoder graph's non-parameter inputs besides tokens: RoPE tables [T, rd] (global and local)
 * for queries at [start, start + T) and the full and sliding masks [T, S] over keys at `keyPos`
 * (−1: empty slot), shared by every row of the batch.
 */
export function auxFeeds(
  d: ResolvedDecoder,
  start: number,
  T: number,
  keyPos: readonly number[],
  takes: Takes,
): Record<string, HostTensor> {
  const queryPos = Array.from({ length: T }, (_, t) => start + t);
  const feeds: Record<string, HostTensor> = {};
  for (const [name, data] of rowTables(d, queryPos, keyPos, takes, Math.max(start + T, keyPos.length))) {
    feeds[name] = { dtype: "float32", shape: isRope(name) ? [T, d.rotaryDim] : [T, keyPos.length], data };
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
  return perRowFeeds(d, positions, positions, takes, segments);
}

/**
 * Per-row RoPE tables [B, 1, Q, rd] for queries at `queryPos[b]` and masks [B, 1, 1, Q, S] over keys
 * at `keyPos[b]` (−1: an empty or padding slot): self-attention over packed rows (keys = queries,
 * with segments), or one cached step of rows whose sequences have different lengths.
 */
export function perRowFeeds(
  d: ResolvedDecoder,
  queryPos: readonly (readonly number[])[],
  keyPos: readonly (readonly number[])[],
  takes: Takes,
  segments?: readonly (readonly number[])[],
): Record<string, HostTensor> {
  const B = queryPos.length;
  const Q = queryPos[0]?.length ?? 0;
  const S = keyPos[0]?.length ?? 0;
  const seqLen = Math.max(S, Q, ...queryPos.map((r) => Math.max(0, ...r) + 1));
  const rows = queryPos.map((q, b) => rowTables(d, q, keyPos[b]!, takes, seqLen, segments?.[b]));
  const feeds: Record<string, HostTensor> = {};
  for (const name of rows[0]?.keys() ?? []) {
    const per = rows[0]!.get(name)!.length;
    const data = new Float32Array(B * per);
    rows.forEach((r, b) => data.set(r.get(name)!, b * per));
    feeds[name] = { dtype: "float32", shape: isRope(name) ? [B, 1, Q, d.rotaryDim] : [B, 1, 1, Q, S], data };
  }
  return feeds;
}

/** Key positions 0..T−1: a plain causal forward over T tokens. */
export const causalPositions = (T: number) => [...Array(T).keys()];
