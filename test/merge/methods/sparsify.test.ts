import assert from "node:assert/strict";
import { test } from "node:test";
import {
  dellaProbabilities,
  magnitudeMask,
  outlierMask,
  rankWindowMask,
  magnitudes,
  ranksAlong,
} from "../../../src/merge/methods/sparsify.js";
import { axisLayout } from "../../../src/merge/methods/vectors.js";
import { METHODS } from "../../../src/merge/methods/registry.js";
import { mulberry32 } from "../../../src/random.js";
import { input, near } from "./input.js";

const indices = (mask: Uint8Array) => [...mask.keys()].filter((j) => mask[j] === 1);

test("rankWindowMask agrees with a full sort, ties and zeros included", () => {
  const rnd = mulberry32(7);
  for (const n of [1, 5, 33, 1000, 4097]) {
    // Values with many exact ties (rounded to a coarse grid) and many zeros.
    const x = Float32Array.from({ length: n }, () => (rnd() < 0.3 ? 0 : Math.round((rnd() - 0.5) * 20) / 4));
    const mags = magnitudes(x);
    const order = [...mags.keys()].sort((p, q) => mags[p]! - mags[q]! || p - q); // ascending, ties by position
    for (const [lo, hi] of [
      [0, n],
      [0, 0],
      [Math.floor(n / 3), n],
      [0, Math.ceil(n / 2)],
      [Math.floor(n / 4), Math.floor((3 * n) / 4)],
      [n - 1, n],
    ] as [number, number][]) {
      const expected = order.slice(lo, hi).sort((p, q) => p - q);
      assert.deepEqual(indices(rankWindowMask(mags, lo, hi)), expected, `n ${n}, window [${lo}, ${hi})`);
    }
  }
});

test("rankWindowMask on large tensors (the sampled-bracket path) agrees with a full sort", () => {
  const rnd = mulberry32(11);
  const n = 300_000;
  const cases: [string, Float32Array][] = [
    ["continuous", Float32Array.from({ length: n }, () => rnd() - 0.5)],
    [
      "ties and zeros",
      Float32Array.from({ length: n }, () => (rnd() < 0.4 ? 0 : Math.round((rnd() - 0.5) * 40) / 8)),
    ],
    ["mostly zeros", Float32Array.from({ length: n }, () => (rnd() < 0.9 ? 0 : rnd()))],
  ];
  for (const [what, x] of cases) {
    const mags = magnitudes(x);
    const order = [...mags.keys()].sort((p, q) => mags[p]! - mags[q]! || p - q);
    for (const [lo, hi] of [
      [n / 2, n],
      [n / 10, n - n / 100],
      [0, n / 3],
      [n - 1, n],
    ] as [number, number][]) {
      const got = rankWindowMask(mags, lo, hi);
      const want = new Uint8Array(n);
      for (const j of order.slice(lo, hi)) want[j] = 1;
      assert.ok(
        got.every((v, j) => v === want[j]),
        `${what}, window [${lo}, ${hi})`,
      );
    }
  }
});

// δ = (0.1, −0.9, 0.5, 0.3, −0.7, 0.2, 1.0, −0.4, 0.6, 0.8): magnitudes in ascending order are
// e0 0.1, e5 0.2, e3 0.3, e7 0.4, e2 0.5, e8 0.6, e4 0.7, e9 0.8, e1 0.9, e6 1.0.
const d = [0.1, -0.9, 0.5, 0.3, -0.7, 0.2, 1.0, -0.4, 0.6, 0.8];

test("breadcrumbs removes exactly the gamma largest and then the smallest down to density", () => {
  // density 0.6, gamma 0.2: drop e6, e1 (largest two) and e0, e5 (smallest two).
  assert.deepEqual(indices(outlierMask(d, 0.6, 0.2)), [2, 3, 4, 7, 8, 9]);
  // density 0.3, gamma 0.1: keep 3; drop e6 (largest), then the 6 smallest → keep e4, e9, e1.
  assert.deepEqual(indices(outlierMask(d, 0.3, 0.1)), [1, 4, 9]);
  // gamma + density > 1 (0.5 + 0.8): density wins, only 10 − 8 = 2 of the largest go: e6, e1.
  assert.deepEqual(indices(outlierMask(d, 0.8, 0.5)), [0, 2, 3, 4, 5, 7, 8, 9]);
});

test("breadcrumbs with no outliers to drop keeps the largest, like TIES (mergekit removes everything)", () => {
  // gamma 0, density 0.5: the 5 largest e6, e1, e9, e4, e8. mergekit's sorted[n_bot:-0] is empty.
  assert.deepEqual(indices(outlierMask(d, 0.5, 0)), [1, 4, 6, 8, 9]);
  assert.deepEqual(indices(outlierMask(d, 0.5, 0)), indices(magnitudeMask(d, 0.5)));
  // The default gamma 0.01 on 10 elements: ⌊0.1⌋ = 0 outliers, the same.
  assert.deepEqual(indices(outlierMask(d, 0.5, 0.01)), [1, 4, 6, 8, 9]);
  // Through the method, with the default gamma and density 1: the delta is untouched.
  const zero = d.map(() => 0);
  near(METHODS.breadcrumbs!.merge(input([zero, d], { base: 0, models: [{}, { weight: 1 }] })), d, 1e-7);
});

test("TIES keeps the k largest magnitudes; equal magnitudes are broken by position (later ranks larger)", () => {
  assert.deepEqual(indices(magnitudeMask(d, 0.3)), [1, 6, 9]);
  assert.deepEqual(indices(magnitudeMask([1, -1, 1, 1], 0.5)), [2, 3]);
  assert.deepEqual(indices(magnitudeMask(d, 0.05)), []); // ⌊0.5⌋ = 0
});

test("DELLA's keep probabilities follow magnitude ranks within each row", () => {
  // 1-D: δ = (0.1, −0.4, 0.3, 0.2), density 0.5, ε 0.1: ranks (0, 3, 2, 1), p = 0.4 + 0.2·r/3.
  near(
    dellaProbabilities([0.1, -0.4, 0.3, 0.2], [4], 0.5, 0.1),
    [0.4, 0.6, 0.4 + 0.4 / 3, 0.4 + 0.2 / 3],
    1e-12,
  );
  // 2-D [2, 3], ranked per row: (3, −1, 2) → ranks (2, 0, 1) → p (0.6, 0.4, 0.5);
  //                             (0.5, 0.25, −1) → ranks (1, 0, 2) → p (0.5, 0.4, 0.6).
  near(dellaProbabilities([3, -1, 2, 0.5, 0.25, -1], [2, 3], 0.5, 0.1), [0.6, 0.4, 0.5, 0.5, 0.4, 0.6], 1e-9);
  // 3-D [2, 2, 2] is ranked along axis 1 (torch argsort dim=1): pairs (x[o][0][i], x[o][1][i]).
  //   x = [[[1, 4], [2, 3]], [[5, 0], [−6, 7]]]: (1, 2) → ranks (0, 1); (4, 3) → (1, 0); (5, −6) → (0, 1); (0, 7) → (0, 1).
  near(
    dellaProbabilities([1, 4, 2, 3, 5, 0, -6, 7], [2, 2, 2], 0.5, 0.1),
    [0.4, 0.6, 0.6, 0.4, 0.4, 0.4, 0.6, 0.6],
    1e-9,
  );
  // A row of one element has no spread: p = density.
  near(dellaProbabilities([3, -2], [2, 1], 0.5, 0.1), [0.5, 0.5], 1e-12);
});

test("ranks along an axis: packed-key and comparator sorts agree with a reference, ties by position", () => {
  const rnd = mulberry32(5);
  const shape = [3, 50, 4];
  const x = Float32Array.from({ length: 600 }, () => (rnd() < 0.2 ? 0 : Math.round((rnd() - 0.5) * 8)));
  x[7] = NaN; // ranks as +∞
  const mags = magnitudes(x);
  const layout = axisLayout(shape, 1);
  const expected = new Uint32Array(600);
  for (let o = 0; o < 3; o++) {
    for (let i = 0; i < 4; i++) {
      const at = (k: number) => (o * 50 + k) * 4 + i;
      const ks = [...Array(50).keys()].sort((p, q) => mags[at(p)]! - mags[at(q)]! || p - q);
      ks.forEach((k, r) => (expected[at(k)] = r));
    }
  }
  assert.deepEqual(ranksAlong(mags, layout), expected);
  assert.deepEqual(ranksAlong(mags, layout, 0), expected);
  assert.equal(ranksAlong(mags, layout)[7], 49);
});

test("DELLA's observed keep frequencies match the rank probabilities", () => {
  const delta = [0.1, -0.4, 0.3, 0.2];
  const p = [0.4, 0.6, 0.5333333, 0.4666667];
  const t = [[0, 0, 0, 0], delta];
  const models = [{}, { weight: 1, density: 0.5, epsilon: 0.1 }];
  const runs = 5000;
  const kept = [0, 0, 0, 0];
  for (let seed = 1; seed <= runs; seed++) {
    const out = METHODS.della_linear!.merge(input(t, { base: 0, seed, models, params: { rescale: false } }));
    out.forEach((v, j) => (kept[j]! += v !== 0 ? 1 : 0));
  }
  // Binomial standard deviation √(p(1 − p)/5000) ≈ 0.007: allow 4σ.
  near(
    kept.map((k) => k / runs),
    p,
    0.028,
    "keep frequency",
  );
});

test("DARE: same seed same result, different seeds differ, the mean approaches the delta", () => {
  const n = 200;
  const rnd = mulberry32(99);
  const delta = Array.from({ length: n }, () => (rnd() < 0.5 ? -1 : 1) * (0.5 + rnd()));
  const t = [delta.map(() => 0), delta];
  const models = [{}, { weight: 1, density: 0.4 }];
  const m = METHODS.dare_linear!;
  const run = (seed: number, params = {}) => m.merge(input(t, { base: 0, seed, models, params }));
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
  const once = run(5);
  const keptCount = once.filter((v) => v !== 0).length;
  assert.ok(keptCount > 0.25 * n && keptCount < 0.55 * n, `kept ${keptCount} of ${n} at density 0.4`);
  // rescale (default): the L1 norm is preserved exactly, up to float32 rounding.
  const l1 = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + Math.abs(v), 0);
  assert.ok(Math.abs(l1(once) - l1(delta)) < 1e-4 * l1(delta));

  // The rescaled delta's expectation is the delta; without rescale it is density·delta.
  const runs = 3000;
  const mean = new Float64Array(n);
  const meanRaw = new Float64Array(n);
  for (let s = 1; s <= runs; s++) {
    run(1000 + s).forEach((v, j) => (mean[j]! += v / runs));
    run(1000 + s, { rescale: false }).forEach((v, j) => (meanRaw[j]! += v / runs));
  }
  // Per element the standard deviation of the mean is |δ|·√((1 − p)/p)/√runs ≤ 1.5·1.22/54.8 ≈ 0.034.
  near(mean, delta, 0.15, "mean of rescaled DARE");
  near(
    meanRaw,
    delta.map((x) => 0.4 * x),
    0.06,
    "mean of unrescaled DARE",
  );
  const bias = mean.reduce((s, v, j) => s + (v - delta[j]!) * Math.sign(delta[j]!), 0) / n;
  assert.ok(Math.abs(bias) < 0.01, `average signed bias ${bias}`);
});
