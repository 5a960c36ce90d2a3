// The arithmetic of a LoRA merge, W' = W + s·B·A, as one plain accumulate loop over contiguous rows
// (float64 accumulation, float32 in and out), not the engine: the checkpoint layer must not import
// it, and a rank-r update is r fused multiply-adds per weight, cheap beside reading and writing W.

/**
 * A low-rank update of a [rows, cols] matrix as C·V, the scale folded into C: C [rows, rank] and
 * V [rank, cols], both float64, so each output row is W's row plus a sum of rank rows of V.
 */
export interface LowRank {
  rows: number;
  cols: number;
  rank: number;
  c: Float64Array;
  v: Float64Array;
}

/**
 * The update s·B·A from A [rank, n] and B [m, rank]: [m, n] as a linear layer holds it, or with
 * `transposed` its transpose [n, m], as a Conv1D layer (fan_in_fan_out) or an embedding holds it.
 * With `shared`, C and V are in SharedArrayBuffers, for worker threads to read (lowRankPool.ts).
 */
export function lowRankUpdate(
  a: Float32Array,
  b: Float32Array,
  rank: number,
  scale: number,
  transposed: boolean,
  shared = false,
): LowRank {
  const n = a.length / rank;
  const m = b.length / rank;
  const rows = transposed ? n : m;
  const cols = transposed ? m : n;
  const doubles = (k: number) =>
    shared ? new Float64Array(new SharedArrayBuffer(k * 8)) : new Float64Array(k);
  const c = doubles(rows * rank);
  const v = doubles(rank * cols);
  if (!transposed) {
    for (let i = 0; i < c.length; i++) c[i] = scale * b[i]!;
    for (let i = 0; i < v.length; i++) v[i] = a[i]!;
  } else {
    // C = s·Aᵀ, V = Bᵀ: row j of the output is Σ_k s·A[k, j] · B[:, k].
    for (let k = 0; k < rank; k++) {
      for (let j = 0; j < n; j++) c[j * rank + k] = scale * a[k * n + j]!;
      for (let o = 0; o < m; o++) v[k * cols + o] = b[o * rank + k]!;
    }
  }
  return { rows, cols, rank, c, v };
}

/**
 * Adds elements [start, start + w.length) of C·V (row-major) to `w` in place, each sum accumulated
 * in float64 from W's value and rounded once to float32 (the writer then rounds to W's dtype: for BF16
 * and F16 a second rounding, which differs from a direct one only on a tie). `row` is scratch of at least `cols` float64s.
 */
export function addLowRank(u: LowRank, start: number, w: Float32Array, row: Float64Array): void {
  const { cols, rank, c, v } = u;
  const end = start + w.length;
  for (let e = start; e < end;) {
    const j = Math.floor(e / cols);
    const i0 = e - j * cols;
    const i1 = Math.min(cols, i0 + (end - e));
    const at = e - start - i0; // w[at + i] is column i of row j
    for (let i = i0; i < i1; i++) row[i] = w[at + i]!;
    const cj = j * rank;
    let k = 0;
    // Four rows of V per pass over the output row: a quarter of the loads and stores of row.
    for (; k + 4 <= rank; k += 4) {
      const [c0, c1, c2, c3] = [c[cj + k]!, c[cj + k + 1]!, c[cj + k + 2]!, c[cj + k + 3]!];
      const [v0, v1, v2, v3] = [k * cols, (k + 1) * cols, (k + 2) * cols, (k + 3) * cols];
      for (let i = i0; i < i1; i++)
        row[i]! += c0 * v[v0 + i]! + c1 * v[v1 + i]! + c2 * v[v2 + i]! + c3 * v[v3 + i]!;
    }
    for (; k < rank; k++) {
      const ck = c[cj + k]!;
      const vk = k * cols;
      for (let i = i0; i < i1; i++) row[i]! += ck * v[vk + i]!;
    }
    for (let i = i0; i < i1; i++) w[at + i] = row[i]!;
    e += i1 - i0;
  }
}
