import assert from "node:assert/strict";
import { test } from "node:test";
import { distribution } from "../../src/eval/contamination/distribution.js";
import { minKCount, minKProb } from "../../src/eval/contamination/minKProb.js";
import { rocAuc } from "../../src/eval/contamination/rocAuc.js";

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test("Min-K% keeps floor(k/100 · n) of the least likely tokens, at least one; k = 100 is the mean of all", () => {
  const lp = [-0.1, -2, -0.5, -4, -1, -0.2, -3, -0.3, -0.05, -6];
  // Sorted: -6, -4, -3, -2, -1, -0.5, -0.3, -0.2, -0.1, -0.05.
  close(minKProb(lp, 20), (-6 - 4) / 2, "k 20 of 10: 2 tokens");
  close(minKProb(lp, 29), (-6 - 4) / 2, "k 29 of 10: floor(2.9) = 2");
  close(minKProb(lp, 30), (-6 - 4 - 3) / 3, "k 30 of 10: 3 tokens");
  close(minKProb(lp, 5), -6, "k 5 of 10: floor(0.5) = 0, kept as 1");
  close(minKProb(lp, 100), lp.reduce((a, b) => a + b, 0) / lp.length, "k 100: all");
  close(minKProb([-1.5], 20), -1.5, "one token");
  // k · n / 100 is exact for whole k, where k/100 · n is not: 0.29 · 100 = 28.999….
  assert.equal(minKCount(100, 29), 29);
  assert.equal(minKCount(7, 100), 7);
  assert.equal(minKCount(3, 0.5), 1);
  assert.throws(() => minKProb(lp, 0), RangeError);
  assert.throws(() => minKProb(lp, 100.5), RangeError);
  assert.throws(() => minKProb([], 20), RangeError);
});

test("ROC AUC is the chance a member outscores a non-member, ties counted half", () => {
  assert.equal(rocAuc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]), 1);
  assert.equal(rocAuc([0.9, 0.8, 0.3, 0.1], [0, 0, 1, 1]), 0);
  // Members 3, 2; non-members 2, 1: pairs (3,2) win, (3,1) win, (2,2) tie, (2,1) win → 3.5 / 4.
  assert.equal(rocAuc([3, 2, 2, 1], [1, 1, 0, 0]), 3.5 / 4);
  // Members 5, 1, 3; non-members 4, 2: (5,4) (5,2) (3,2) win, (1,4) (1,2) (3,4) lose → 3 / 6.
  assert.equal(rocAuc([5, 4, 1, 2, 3], [1, 0, 1, 0, 1]), 0.5);
  // A tie across the classes and inside one: members 2, 2, 1; non-members 2, 0.
  // (2,2) ×2 ties = 1, (2,0) ×2 wins = 2, (1,2) lose, (1,0) win → 4 / 6.
  assert.equal(rocAuc([2, 2, 1, 2, 0], [1, 1, 1, 0, 0]), 4 / 6);
  assert.equal(rocAuc([7, 7, 7, 7], [1, 0, 1, 0]), 0.5, "identical scores separate nothing");
  assert.ok(Number.isNaN(rocAuc([1, 2], [1, 1])), "one class only");
});

test("the distribution's quartiles interpolate between order statistics", () => {
  const d = distribution([4, 1, 3, 2]);
  assert.deepEqual(d, { mean: 2.5, min: 1, q1: 1.75, median: 2.5, q3: 3.25, max: 4 });
  assert.deepEqual(distribution([5]), { mean: 5, min: 5, q1: 5, median: 5, q3: 5, max: 5 });
});
