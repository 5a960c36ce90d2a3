import assert from "node:assert/strict";
import { test } from "node:test";
import { addLowRank, lowRankUpdate } from "../../../src/checkpoint/lora/lowRank.js";
import { LowRankPool, POOL_MIN_WORK, sharedFloats } from "../../../src/checkpoint/lora/lowRankPool.js";
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

test("worker threads give the single-threaded result to the bit, chunks starting and ending mid-row", async () => {
  const [m, n, r] = [300, 1001, 16]; // the middle chunk is past POOL_MIN_WORK: as large as the pool takes
  const a = randomValues(r * n, 4);
  const b = randomValues(m * r, 5);
  const w = randomValues(m * n, 6, 2);
  const single = lowRankUpdate(a, b, r, 2, false);
  const want = w.slice();
  addLowRank(single, 0, want, new Float64Array(n));
  const u = lowRankUpdate(a, b, r, 2, false, true);
  assert.ok(u.c.buffer instanceof SharedArrayBuffer && u.v.buffer instanceof SharedArrayBuffer);
  const pool = new LowRankPool(3);
  try {
    const got = sharedFloats(w.length);
    got.set(w);
    const cuts = [0, 517, m * n - 333, m * n]; // mid-row starts and ends
    assert.ok((cuts[2]! - cuts[1]!) * r >= POOL_MIN_WORK);
    for (let i = 0; i + 1 < cuts.length; i++)
      await pool.addLowRank(u, cuts[i]!, got.subarray(cuts[i]!, cuts[i + 1]!));
    const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
    assert.deepEqual(bits(got), bits(want));
    assert.notDeepEqual(bits(got), bits(w)); // the update was applied
    await assert.rejects(pool.addLowRank(u, 0, w.subarray(0, 10)), /SharedArrayBuffer/);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.addLowRank(u, 0, sharedFloats(10)), /closed/);
});
