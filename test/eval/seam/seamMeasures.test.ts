// The seam arithmetic without the engine: running sums, the measures, the recommendation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { seamMeasures } from "../../../src/eval/seam/measures.js";
import {
  checkSize,
  defaultSize,
  plansOfSize,
  reachableSizes,
  recommend,
} from "../../../src/eval/seam/recommend.js";
import { SeamSums } from "../../../src/eval/seam/seamSums.js";
import { UsageError } from "../../../src/errors.js";
import { mulberry32 } from "../../../src/random.js";

/** Random hidden states for K boundaries, `tokens` tokens of width H. */
function randomStream(K: number, tokens: number, H: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  return Array.from({ length: K }, () => Float32Array.from({ length: tokens * H }, () => rand() - 0.5));
}

const slice = (s: Float32Array[], from: number, to: number, H: number) =>
  s.map((x) => x.subarray(from * H, to * H));

test("running sums: a sample added in one batch equals the same sample added in many, to the bit", () => {
  const H = 16;
  const stream = randomStream(5, 12, H, 7);
  const one = new SeamSums(4);
  one.add(stream, H, 12);
  const many = new SeamSums(4);
  for (const [a, b] of [
    [0, 1],
    [1, 5],
    [5, 12],
  ] as const)
    many.add(slice(stream, a, b, H), H, b - a);
  assert.equal(many.tokens, 12);
  assert.deepEqual(many.dist, one.dist);
  assert.deepEqual(many.gap2, one.gap2);
  assert.deepEqual(seamMeasures(many), seamMeasures(one));
});

test("measures: equal boundaries are exactly 0 apart, opposite ones 1, orthogonal ones 1/2; the mean and standard error are over tokens", () => {
  const H = 2;
  // Boundaries 0 and 1 equal; 2 the negation of 1 at token 0 and orthogonal to it at token 1.
  const b0 = Float32Array.from([3, 4, 1, 0]);
  const b2 = Float32Array.from([-3, -4, 0, 2]);
  const s = new SeamSums(2);
  s.add([b0, b0.slice(), b2], H, 2);
  const m = seamMeasures(s);
  assert.deepEqual(m.distance[0]![1], { mean: 0, se: 0 });
  assert.equal(m.blockInfluence[0]!.mean, 0);
  // Per token 1 and 0.5: mean 0.75; sample sd √(0.125) / √2 tokens = 0.25.
  assert.ok(Math.abs(m.distance[1]![2]!.mean - 0.75) < 1e-15);
  assert.ok(Math.abs(m.distance[1]![2]!.se - 0.25) < 1e-15);
  assert.deepEqual(m.distance[2]![1], m.distance[1]![2], "symmetric");
  // Block Influence of layer 1: 1 − cos = 2 and 1.
  assert.ok(Math.abs(m.blockInfluence[1]!.mean - 1.5) < 1e-15);
  // DUS m = 0 compares boundaries n = 2 and 0; m = 1 boundaries 1 and 1 (the base itself).
  assert.equal(m.dus[0]!.size, 4);
  assert.deepEqual(m.dus[0]!.boundaries, [2, 0]);
  assert.deepEqual(m.dus[0]!.seam, [1, 0]);
  assert.equal(m.dus[1]!.distance.mean, 0);
});

/** Measures whose distance matrix is `d` (one token, so means are exactly d). */
function measuresOf(d: number[][]) {
  const K = d.length;
  const s = new SeamSums(K - 1);
  s.tokens = 1;
  for (let i = 0; i < K; i++) for (let j = i + 1; j < K; j++) s.dist[i * K + j] = d[i]![j]!;
  return seamMeasures(s);
}

test("recommendation: the smallest seam distance among plans of the size; ties go to the symmetric plan, then the smaller a", () => {
  const n = 4;
  const flat = (v: number) => Array.from({ length: n + 1 }, () => new Array<number>(n + 1).fill(v));
  // Size 6: plans (a, b) = (2, 0), (3, 1), (4, 2); (3, 1) is DUS m = 1.
  const d = flat(0.5);
  d[2]![4] = d[4]![2] = 0.1;
  assert.deepEqual(
    plansOfSize(measuresOf(d), 6).map((p) => [p.a, p.b]),
    [
      [4, 2],
      [3, 1],
      [2, 0],
    ],
  );
  const r = recommend(measuresOf(d), 6);
  assert.equal(r.symmetric, false);
  assert.equal(r.m, undefined);
  const tie = recommend(measuresOf(flat(0.5)), 6);
  assert.deepEqual([tie.a, tie.b, tie.m, tie.symmetric], [3, 1, 1, true]);
  // Size 7 has no symmetric plan: (3, 0) and (4, 1) tie, the smaller a wins.
  const seven = recommend(measuresOf(flat(0.5)), 7);
  assert.deepEqual([seven.a, seven.b], [3, 0]);
});

test("sizes: the default is DUS m = floor(n/4)'s depth (the paper's 1.5x); reachable depths are n to 2n; others are refused in one line", () => {
  assert.equal(defaultSize(32), 48);
  assert.equal(defaultSize(8), 12);
  assert.equal(defaultSize(5), 8);
  assert.deepEqual(reachableSizes(8), { min: 8, max: 16 });
  assert.deepEqual(reachableSizes(1), { min: 2, max: 2 });
  assert.throws(
    () => checkSize(8, 17),
    (e: Error) =>
      e instanceof UsageError &&
      e.message ===
        "--size 17: no two-slice plan of an 8-layer base has 17 layers; reachable sizes are 8 to 16",
  );
  assert.throws(
    () => checkSize(8, 6),
    (e: Error) =>
      e instanceof UsageError && /^--size 6: below the base's depth; .* 8 to 16 layers$/.test(e.message),
  );
  checkSize(8, 8);
  checkSize(8, 16);
});

test("a contrast is the paired difference of two pairs' distances: its mean is the difference of means, its error that of the per-token differences", () => {
  const H = 8;
  const T = 10;
  const stream = randomStream(5, T, H, 3);
  const s = new SeamSums(4, [{ pair: [3, 1], minus: [2, 2 + 2] }]);
  s.add(stream, H, T);
  const m = seamMeasures(s);
  const c = m.contrasts[0]!.difference;
  assert.ok(Math.abs(c.mean - (m.distance[1]![3]!.mean - m.distance[2]![4]!.mean)) < 1e-15);
  const per = Array.from({ length: T }, (_, t) => {
    const one = new SeamSums(4);
    one.add(slice(stream, t, t + 1, H), H, 1);
    const d = seamMeasures(one).distance;
    return d[1]![3]!.mean - d[2]![4]!.mean;
  });
  const mean = per.reduce((a, b) => a + b, 0) / T;
  const sd = Math.sqrt(per.reduce((a, x) => a + (x - mean) ** 2, 0) / (T - 1));
  assert.ok(Math.abs(c.se - sd / Math.sqrt(T)) < 1e-12, `${c.se} vs ${sd / Math.sqrt(T)}`);
});
