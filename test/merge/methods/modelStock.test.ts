import assert from "node:assert/strict";
import { test } from "node:test";
import { modelStock } from "../../../src/merge/methods/modelStock.js";
import { input, near } from "./input.js";

test("model_stock: two models, hand-computed ratio from the angle between task vectors", () => {
  // base (1, 1); w₁ = (2, 1), w₂ = (2, 2): offsets (1, 0), (1, 1), cos θ = 1/√2 = 0.7071068.
  // N = 2: t = 2 cos θ/(1 + cos θ) = 0.8284271; mean(wᵢ) = (2, 1.5);
  // t·(2, 1.5) + (1 − t)·(1, 1) = (1 + t, 1 + t/2) = (1.8284271, 1.4142136).
  const out = modelStock.merge(
    input(
      [
        [2, 1],
        [1, 1],
        [2, 2],
      ],
      { base: 1 },
    ),
  );
  near(out, [1.8284271, 1.4142136]);
});

test("model_stock: three models use the mean pairwise cosine", () => {
  // base 0; w = (1, 0), (0, 1), (1, 1): cosines 0, 1/√2, 1/√2 → mean 0.4714045;
  // t = 3·0.4714045/(1 + 2·0.4714045) = 0.7279221; mean(wᵢ) = (2/3, 2/3) → t·2/3 = 0.4852814 each.
  const out = modelStock.merge(
    input(
      [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ],
      { base: 0 },
    ),
  );
  near(out, [0.4852814, 0.4852814]);
});

test("model_stock: filter_wise computes one ratio per row; opposite offsets keep the base", () => {
  // base 0 [2, 2]; w₁ = [[1, 0], [1, 0]], w₂ = [[1, 1], [−1, 0]].
  // Row 0: offsets (1, 0), (1, 1) → t = 0.8284271, mean (1, 0.5) → (0.8284271, 0.4142136).
  // Row 1: offsets (1, 0), (−1, 0): cos θ = −1, 1 + (N − 1) cos θ = 0: mergekit's t is −∞ and the row NaN;
  //   here t = 0, the base row (0, 0) (the mean of the models is the base there anyway).
  // Whole tensor (default): offsets (1, 0, 1, 0)·(1, 1, −1, 0) = 0 → t = 0 → the base.
  const tensors = [
    [0, 0, 0, 0],
    [1, 0, 1, 0],
    [1, 1, -1, 0],
  ];
  const shape = [2, 2];
  near(
    modelStock.merge(input(tensors, { base: 0, shape, params: { filter_wise: true } })),
    [0.8284271, 0.4142136, 0, 0],
  );
  near(modelStock.merge(input(tensors, { base: 0, shape })), [0, 0, 0, 0], 0);
});

test("model_stock: needs base_model and two other models", () => {
  assert.throws(() => modelStock.merge(input([[1], [2], [3]])), /model_stock: needs a base_model/);
  assert.throws(
    () => modelStock.merge(input([[1], [2]], { base: 0 })),
    /model_stock: needs at least 2 models besides base_model, got 1/,
  );
});
