// The seam measures, from running sums (seamSums.ts): each the mean over tokens of a per-token
// figure, with its standard error.
import type { Contrast, SeamSums } from "./seamSums.js";

/** A mean over tokens and its standard error (sample standard deviation / √tokens). */
export interface Estimate {
  mean: number;
  se: number;
}

/** DUS with drop m: copy A keeps [0, n−m), copy B keeps [m, n); layer n−m−1 feeds layer m. */
export interface DusRow {
  m: number;
  /** Output depth 2(n − m). */
  size: number;
  /** The layers that meet at the seam: [A's last, B's first]. */
  seam: [number, number];
  /** The boundaries compared: what A's last layer outputs (n−m) and what B's first expects (m). */
  boundaries: [number, number];
  distance: Estimate;
}

export interface SeamMeasures {
  layers: number;
  tokens: number;
  /** [i][j]: angular distance between boundaries i and j (symmetric, 0 on the diagonal). */
  distance: Estimate[][];
  /** Per layer l: 1 − cos(boundary l, boundary l + 1). */
  blockInfluence: Estimate[];
  /** m = 0 … n − 1. */
  dus: DusRow[];
  /** The contrasts the sums were asked for, each with its paired estimate. */
  contrasts: (Contrast & { difference: Estimate })[];
}

function estimate(sum: number, sum2: number, n: number): Estimate {
  const mean = sum / n;
  if (n < 2) return { mean, se: 0 };
  const variance = Math.max(0, (sum2 - n * mean * mean) / (n - 1));
  return { mean, se: Math.sqrt(variance / n) };
}

export function seamMeasures(s: SeamSums): SeamMeasures {
  const K = s.boundaries;
  const n = s.layers;
  const N = s.tokens;
  const zero: Estimate = { mean: 0, se: 0 };
  const distance = Array.from({ length: K }, (_, i) =>
    Array.from({ length: K }, (_, j): Estimate => {
      if (i === j) return zero;
      const k = i < j ? i * K + j : j * K + i;
      return estimate(s.dist[k]!, s.dist2[k]!, N);
    }),
  );
  const blockInfluence = Array.from({ length: n }, (_, l) => {
    const k = l * K + l + 1;
    return estimate(s.gap[k]!, s.gap2[k]!, N);
  });
  const dus = Array.from({ length: n }, (_, m): DusRow => ({
    m,
    size: 2 * (n - m),
    seam: [n - m - 1, m],
    boundaries: [n - m, m],
    distance: distance[n - m]![m]!,
  }));
  const contrasts = s.contrasts.map((c, q) => ({ ...c, difference: estimate(s.diff[q]!, s.diff2[q]!, N) }));
  return { layers: n, tokens: N, distance, blockInfluence, dus, contrasts };
}
