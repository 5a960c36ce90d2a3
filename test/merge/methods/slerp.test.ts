import assert from "node:assert/strict";
import { test } from "node:test";
import { slerp } from "../../../src/merge/methods/slerp.js";
import { input, near, sameBits } from "./input.js";

const base = [0.3, -1.7, 2.25, 1e-3];
const other = [1.1, 0.4, -0.6, 5];

test("slerp: t = 0 gives base_model and t = 1 the other model, bitwise", () => {
  // base_model second in config order: t = 0 must still give the base.
  const at = (t: number) => slerp.merge(input([other, base], { base: 1, params: { t } }));
  sameBits(at(0), Float32Array.from(base), "t = 0");
  sameBits(at(1), Float32Array.from(other), "t = 1");
});

test("slerp: hand-computed midpoint of orthogonal vectors of different norms", () => {
  // a = (2, 0), b = (0, 1): â·b̂ = 0, θ = π/2, sin θ = 1.
  // t = 0.5: s0 = sin(π/4) = 0.7071068, s1 = sin(π/4) = 0.7071068 → s0·a + s1·b = (1.4142136, 0.7071068).
  near(
    slerp.merge(
      input(
        [
          [2, 0],
          [0, 1],
        ],
        { base: 0, params: { t: 0.5 } },
      ),
    ),
    [1.4142136, 0.7071068],
  );
  // t = 1/3 on unit vectors: s0 = sin(π/3) = 0.8660254, s1 = sin(π/6) = 0.5.
  near(
    slerp.merge(
      input(
        [
          [1, 0],
          [0, 1],
        ],
        { base: 0, params: { t: 1 / 3 } },
      ),
    ),
    [0.8660254, 0.5],
  );
});

test("slerp: nearly colinear vectors (|â·b̂| > 0.9995) fall back to lerp", () => {
  const deg = Math.PI / 180;
  // 1° apart: cos 1° = 0.99985 > 0.9995 → lerp at t = 0.5 of a = (1, 0), b = 2·(cos 1°, sin 1°):
  //   (0.5 + cos 1°, sin 1°) = (1.4998477, 0.0174524). (slerp would give 1.500057 for the first.)
  const b1 = [2 * Math.cos(deg), 2 * Math.sin(deg)];
  near(slerp.merge(input([[1, 0], b1], { base: 0, params: { t: 0.5 } })), [1.4998477, 0.0174524], 1e-6);
  // 3° apart: cos 3° = 0.99863 < 0.9995 → slerp: s0 = s1 = sin 1.5°/sin 3° = 0.5001714,
  //   (0.5001714·(1 + 2 cos 3°), 0.5001714·2 sin 3°) = (1.4991433, 0.0523539); lerp would be 1.4986295.
  const b3 = [2 * Math.cos(3 * deg), 2 * Math.sin(3 * deg)];
  near(slerp.merge(input([[1, 0], b3], { base: 0, params: { t: 0.5 } })), [1.4991433, 0.0523539], 1e-6);
  // Opposite directions (â·b̂ = −1) also lerp: the midpoint of (1, 0) and (−1, 0) is (0, 0).
  near(
    slerp.merge(
      input(
        [
          [1, 0],
          [-1, 0],
        ],
        { base: 0, params: { t: 0.5 } },
      ),
    ),
    [0, 0],
    0,
  );
});

test("slerp: other than two models is refused", () => {
  assert.throws(
    () => slerp.merge(input([base, other, base], { base: 0, params: { t: 0.5 } })),
    /^MergeMethodError: slerp: takes exactly 2 models/,
  );
  assert.throws(() => slerp.merge(input([base, other], { base: 0 })), /slerp: parameter t is required/);
});
