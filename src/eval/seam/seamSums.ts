// Running sums over a sample of tokens: for every pair of layer boundaries (i, j), the sum and sum of
// squares of the per-token angular distance arccos(cos(h_i, h_j))/π and of 1 − cos (Block Influence), in
// float64. Only these (4·(n+1)² numbers) are kept, so memory does not grow with the sample, and sums
// over any split of the sample into batches add up to the same figures. Contrasts (the distance of
// one pair minus another's, per token) give paired standard errors for comparing two cuts.

/** Distance between boundaries `pair` minus that between `minus`, per token. */
export interface Contrast {
  pair: [number, number];
  minus: [number, number];
}

/** Running sums for a decoder of `layers` layers: layers + 1 boundaries (0: the embeddings). */
export class SeamSums {
  readonly boundaries: number;
  /** Tokens added so far. */
  tokens = 0;
  /** [i·K + j] for i < j (K = boundaries): Σ distance, Σ distance², Σ (1 − cos), Σ (1 − cos)². */
  readonly dist: Float64Array;
  readonly dist2: Float64Array;
  readonly gap: Float64Array;
  readonly gap2: Float64Array;

  /** Per contrast: Σ difference, Σ difference². */
  readonly diff: Float64Array;
  readonly diff2: Float64Array;

  constructor(
    readonly layers: number,
    readonly contrasts: readonly Contrast[] = [],
  ) {
    const K = (this.boundaries = layers + 1);
    this.diff = new Float64Array(contrasts.length);
    this.diff2 = new Float64Array(contrasts.length);
    this.dist = new Float64Array(K * K);
    this.dist2 = new Float64Array(K * K);
    this.gap = new Float64Array(K * K);
    this.gap2 = new Float64Array(K * K);
  }

  /**
   * Adds the first `count` tokens of a batch: `stream[i]` is boundary i's hidden states, token-major
   * ([tokens, H] flattened, as the engine returns [B, T, H]).
   */
  add(stream: readonly Float32Array[], H: number, count: number): void {
    const K = this.boundaries;
    if (stream.length !== K) throw new Error(`expected ${K} boundaries, got ${stream.length}`);
    const sq = new Float64Array(K);
    const d = new Float64Array(K * K); // this token's distances
    const at = ([i, j]: [number, number]) => d[Math.min(i, j) * K + Math.max(i, j)]!;
    for (let t = 0; t < count; t++) {
      const o = t * H;
      for (let i = 0; i < K; i++) {
        const x = stream[i]!;
        let s = 0;
        for (let h = o; h < o + H; h++) s += x[h]! * x[h]!;
        sq[i] = s;
      }
      for (let i = 0; i < K; i++) {
        const x = stream[i]!;
        for (let j = i + 1; j < K; j++) {
          const y = stream[j]!;
          let dot = 0;
          for (let h = o; h < o + H; h++) dot += x[h]! * y[h]!;
          const c = cosine(dot, sq[i]!, sq[j]!);
          const k = i * K + j;
          const dist = (d[k] = Math.acos(c) / Math.PI);
          this.dist[k]! += dist;
          this.dist2[k]! += dist * dist;
          this.gap[k]! += 1 - c;
          this.gap2[k]! += (1 - c) * (1 - c);
        }
      }
      this.contrasts.forEach((c, q) => {
        const x = at(c.pair) - at(c.minus);
        this.diff[q]! += x;
        this.diff2[q]! += x * x;
      });
    }
    this.tokens += count;
  }
}

/**
 * cos from a dot product and squared norms, clamped to [−1, 1]. Equal vectors give exactly 1
 * (sqrt(fl(s²)) = s), so a layer that passes the stream unchanged measures exactly 0. A zero
 * vector has no direction: it is at distance 0 from another zero vector and ½ (orthogonal) from
 * anything else.
 */
export function cosine(dot: number, sa: number, sb: number): number {
  if (sa === 0 || sb === 0) return sa === sb ? 1 : 0;
  return Math.max(-1, Math.min(1, dot / Math.sqrt(sa * sb)));
}
