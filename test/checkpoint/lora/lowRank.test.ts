import assert from "node:assert/strict";
import { test } from "node:test";
import { addLowRank, lowRankUpdate } from "../../../src/checkpoint/lora/lowRank.js";
import { randomValues } from "../../fixtures/loraAdapter.js";

/** s·B·A (or its transpose) added to w, element by element, for comparison. */
function naive(w: Float32Array, a: Float32Array, b: Float32Array, r: number, s: number, transposed: boolean) {
  const n = a.length / r;
  const m = b.length / r;
  const out = Float64Array.from(w);
  for (let o = 0; o < m; o++)
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += b[o * r + k]! * a[k * n + i]!;
      out[transposed ? i * m + o : o * n + i]! += s * sum;
    }
  return out;
}

for (const transposed of [false, true]) {
  test(`chunks that start and end inside rows give the whole-matrix result (transposed: ${transposed})`, () => {
    const r = 6; // one unrolled group of four and two single rows
    const [m, n] = [7, 11];
    const a = randomValues(r * n, 1);
    const b = randomValues(m * r, 2);
    const w = randomValues(m * n, 3, 2);
    const want = naive(w, a, b, r, 1.5, transposed);
    const u = lowRankUpdate(a, b, r, 1.5, transposed);
    assert.deepEqual([u.rows, u.cols], transposed ? [n, m] : [m, n]);
    const row = new Float64Array(u.cols);
    for (const step of [1, 5, 13, 77]) {
      const got = w.slice();
      for (let s = 0; s < got.length; s += step)
        addLowRank(u, s, got.subarray(s, Math.min(s + step, got.length)), row);
      for (let i = 0; i < got.length; i++)
        assert.equal(got[i], Math.fround(want[i]!), `step ${step}, element ${i}`);
    }
  });
}
