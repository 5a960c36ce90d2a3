import assert from "node:assert/strict";
import { test } from "node:test";
import { nuslerp } from "../../../src/merge/methods/nuslerp.js";
import { input, near, sameBits } from "./input.js";

// a = [[1, 0], [1, 0]], b = [[0, 1], [1, 0]], weights (1, 1) → t = 1/(1 + 1) = 0.5.
const a = [1, 0, 1, 0];
const b = [0, 1, 1, 0];
const models = [{ weight: 1 }, { weight: 1 }];
const shape = [2, 2];

test("nuslerp: flattened (default): one slerp of the whole tensors", () => {
  // a·b = 1, ‖a‖ = ‖b‖ = √2 → cos θ = 0.5, θ = π/3, sin θ = 0.8660254.
  // c = sin(π/6)/sin(π/3) = 0.5773503 for both → 0.5773503·(1, 1, 2, 0) = (0.5773503, 0.5773503, 1.1547005, 0).
  near(nuslerp.merge(input([a, b], { models, shape })), [0.5773503, 0.5773503, 1.1547005, 0]);
});

test("nuslerp: nuslerp_flatten false interpolates each row (the last axis)", () => {
  // Row 0: (1, 0) vs (0, 1): θ = π/2, c = sin(π/4) = 0.7071068 → (0.7071068, 0.7071068).
  // Row 1: (1, 0) vs (1, 0): sin θ = 0 < 1e-8 → lerp → (1, 0).
  const params = { nuslerp_flatten: false };
  near(nuslerp.merge(input([a, b], { models, shape, params })), [0.7071068, 0.7071068, 1, 0]);
});

test("nuslerp: nuslerp_row_wise true interpolates along axis 0 (the columns)", () => {
  // Column 0: (1, 1) vs (0, 1): cos θ = 1/√2, θ = π/4; c = sin(π/8)/sin(π/4) = 0.5411961
  //   → 0.5411961·((1, 1) + (0, 1)) = (0.5411961, 1.0823922).
  // Column 1: (0, 0) vs (1, 0): the zero vector's norm is clamped to 1e-7, so cos θ = 0, θ = π/2,
  //   c = sin(π/4) = 0.7071068 → 0.7071068·(1, 0) = (0.7071068, 0).
  // Laid back out row-major: [[0.5411961, 0.7071068], [1.0823922, 0]].
  const params = { nuslerp_flatten: false, nuslerp_row_wise: true };
  near(nuslerp.merge(input([a, b], { models, shape, params })), [0.5411961, 0.7071068, 1.0823922, 0]);
});

test("nuslerp: with base_model it interpolates task vectors and adds them back", () => {
  // base = (1, 1), x₁ = (2, 1), x₂ = (1, 2): task vectors (1, 0) and (0, 1); weights (1, 3) → t = 0.75.
  // θ = π/2: c₀ = sin(0.25·π/2) = 0.3826834, c₁ = sin(0.75·π/2) = 0.9238795
  //   → base + (0.3826834, 0.9238795) = (1.3826834, 1.9238795).
  const out = nuslerp.merge(
    input(
      [
        [2, 1],
        [1, 1],
        [1, 2],
      ],
      { base: 1, models: [{ weight: 1 }, {}, { weight: 3 }] },
    ),
  );
  near(out, [1.3826834, 1.9238795]);
});

test("nuslerp: weights (1, 0) give the first model, bitwise; zero-sum weights give t = 0.5", () => {
  const x = [0.25, -3.5, 7.125];
  const y = [1, 2, 3];
  sameBits(nuslerp.merge(input([x, y], { models: [{ weight: 1 }, { weight: 0 }] })), Float32Array.from(x));
  // Orthogonal unit vectors at t = 0.5 (mergekit's choice when |w₁ + w₂| < 1e-6): (0.7071068, 0.7071068).
  near(
    nuslerp.merge(
      input(
        [
          [1, 0],
          [0, 1],
        ],
        { models: [{ weight: 0 }, { weight: 0 }] },
      ),
    ),
    [0.7071068, 0.7071068],
  );
});

test("nuslerp: needs exactly two models besides base_model", () => {
  const three = [a, b, a];
  const ms = [{ weight: 1 }, { weight: 1 }, { weight: 1 }];
  assert.throws(() => nuslerp.merge(input(three, { models: ms, shape })), /nuslerp: takes exactly 2 models/);
  assert.throws(
    () => nuslerp.merge(input([a, b], { base: 0, models, shape })),
    /nuslerp: takes exactly 2 models besides base_model, got 1/,
  );
});
