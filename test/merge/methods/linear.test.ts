import assert from "node:assert/strict";
import { test } from "node:test";
import { linear } from "../../../src/merge/methods/linear.js";
import { input, near, sameBits } from "./input.js";

test("linear: hand-computed weighted average, normalized and not", () => {
  // a = (1, 2, 3), b = (3, 2, 1), weights (1, 3):
  //   Σ w·x = (1 + 9, 2 + 6, 3 + 3) = (10, 8, 6); normalized by Σ w = 4: (2.5, 2, 1.5).
  const tensors = [
    [1, 2, 3],
    [3, 2, 1],
  ];
  const models = [{ weight: 1 }, { weight: 3 }];
  near(linear.merge(input(tensors, { models })), [2.5, 2, 1.5], 0);
  near(linear.merge(input(tensors, { models, params: { normalize: false } })), [10, 8, 6], 0);
});

test("linear: weights (1, 0) reproduce model A bitwise", () => {
  const a = [0.1, -2.5, 3.3333333, 1e-20, 65504, -7.25e-8];
  const b = [9, 8, 7, 6, 5, 4];
  const out = linear.merge(input([a, b], { models: [{ weight: 1 }, { weight: 0 }] }));
  sameBits(out, Float32Array.from(a));
});

test("linear: weights that sum to zero with normalize are refused, naming the method and parameter", () => {
  const t = [
    [1, 2],
    [3, 4],
  ];
  for (const w of [
    [0, 0],
    [1, -1],
  ]) {
    assert.throws(
      () => linear.merge(input(t, { models: w.map((weight) => ({ weight })) })),
      /^MergeMethodError: linear: parameter weight sums to 0/,
    );
  }
  // Without normalize the sum is the answer: 1·(1, 2) − 1·(3, 4) = (−2, −2).
  near(
    linear.merge(input(t, { models: [{ weight: 1 }, { weight: -1 }], params: { normalize: false } })),
    [-2, -2],
    0,
  );
  assert.throws(
    () => linear.merge(input(t, { models: [{ weight: 1 }, {}] })),
    /weight of model 1 is required/,
  );
});
