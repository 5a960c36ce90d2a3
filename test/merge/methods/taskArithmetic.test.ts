import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeTaskArithmetic, taskArithmeticMethod } from "../../../src/merge/methods/taskArithmetic.js";
import { METHODS } from "../../../src/merge/methods/registry.js";
import { input, near } from "./input.js";

const plus = (base: number[], d: number[]) => base.map((b, j) => b + d[j]!);

test("task_arithmetic: hand-computed sum of weighted task vectors, with normalize and lambda", () => {
  // base (1, 2); x₁ = (2, 2) → δ₁ = (1, 0), w 1; x₂ = (1, 4) → δ₂ = (0, 2), w 0.5.
  // Σ w·δ = (1, 0) + (0, 1) = (1, 1) → (2, 3). normalize: /1.5 → (1.6666667, 2.6666667). lambda 2: (3, 4).
  const tensors = [
    [1, 2],
    [2, 2],
    [1, 4],
  ];
  const models = [{}, { weight: 1 }, { weight: 0.5 }];
  const ta = METHODS.task_arithmetic!;
  near(ta.merge(input(tensors, { base: 0, models })), [2, 3], 0);
  near(ta.merge(input(tensors, { base: 0, models, params: { normalize: true } })), [1.6666667, 2.6666667]);
  near(ta.merge(input(tensors, { base: 0, models, params: { lambda: 2 } })), [3, 4], 0);
});

// The TIES hand case. base = (1, 1, 1, 1), task vectors:
//   δ₁ = ( 1, −2,  0.5,  3)  density 0.5 → keeps its 2 largest |δ|: ( 0, −2, 0,  3), w 1
//   δ₂ = (−1,  1,  2,   −4)  density 0.5 →                           ( 0,  0, 2, −4), w 1
//   δ₃ = ( 2,  1, −0.5,  1)  density 1   → all kept, w 0.5 →  u₃ = ( 1, 0.5, −0.25, 0.5)
// Sign election by sum: Σu = (1, −1.5, 1.75, −0.5) → signs (+, −, +, −). Agreeing terms (a zero never agrees):
//   e0: u₃ = 1 (w 0.5); e1: u₁ = −2 (w 1); e2: u₂ = 2 (w 1); e3: u₂ = −4 (w 1).
//   mixed = (1, −2, 2, −4); normalized by the agreeing weights (0.5, 1, 1, 1): (2, −2, 2, −4).
// By count instead: Σsign(u) = (1, 0, 0, 1) → all + (0 counts as +):
//   e0: 1/0.5 = 2; e1: 0.5/0.5 = 1; e2: 2/1 = 2; e3: (3 + 0.5)/(1 + 0.5) = 2.3333333.
const base = [1, 1, 1, 1];
const ties = [base, plus(base, [1, -2, 0.5, 3]), plus(base, [-1, 1, 2, -4]), plus(base, [2, 1, -0.5, 1])];
const tiesModels = [{}, { weight: 1, density: 0.5 }, { weight: 1, density: 0.5 }, { weight: 0.5 }];

test("ties: magnitude trim, sign election by sum, normalization by the agreeing weights (hand case)", () => {
  const m = METHODS.ties!;
  near(m.merge(input(ties, { base: 0, models: tiesModels })), plus(base, [2, -2, 2, -4]), 0);
  near(
    m.merge(input(ties, { base: 0, models: tiesModels, params: { normalize: false } })),
    plus(base, [1, -2, 2, -4]),
    0,
  );
  near(
    m.merge(input(ties, { base: 0, models: tiesModels, params: { lambda: 0.5 } })),
    plus(base, [1, -1, 1, -2]),
    0,
  );
});

test("ties: sign election by count differs from sum where a large delta is outvoted", () => {
  const countVariant = {
    name: "ties_count",
    reference: "",
    sparsification: "magnitude" as const,
    consensus: "count" as const,
    defaultNormalize: true,
    defaultRescale: false,
  };
  const m = taskArithmeticMethod(countVariant);
  near(
    mergeTaskArithmetic(
      countVariant,
      m.globalParameters,
      m.modelParameters,
      input(ties, { base: 0, models: tiesModels }),
    ),
    plus(base, [2, 1, 2, 2.3333333]),
  );
});

test("ties: a density that keeps no element of a small tensor leaves the base (mergekit asserts instead)", () => {
  // One element, density 0.5: ⌊0.5·1⌋ = 0 elements kept.
  near(
    METHODS.ties!.merge(input([[2], [5]], { base: 0, models: [{}, { weight: 1, density: 0.5 }] })),
    [2],
    0,
  );
});

test("normalize without consensus: all-zero weights leave the base; cancelling weights are refused", () => {
  const t = [
    [1, 1],
    [2, 3],
    [0, 5],
  ];
  const params = { normalize: true };
  const zero = [{}, { weight: 0 }, { weight: 0 }];
  near(METHODS.task_arithmetic!.merge(input(t, { base: 0, models: zero, params })), [1, 1], 0);
  near(METHODS.ties!.merge(input(t, { base: 0, models: zero })), [1, 1], 0);
  assert.throws(
    () =>
      METHODS.task_arithmetic!.merge(
        input(t, { base: 0, models: [{}, { weight: 1 }, { weight: -1 }], params }),
      ),
    /^MergeMethodError: task_arithmetic: parameter weight sums to 0/,
  );
  assert.throws(() => METHODS.ties!.merge(input(t, { models: zero })), /ties: needs a base_model/);
});

test("dare_ties and dare_linear: hand case with scripted random draws", () => {
  // base 0; δ₁ = (1, 2, −3, 4), δ₂ = (−2, 1, 1, −1), density 0.5, weights 1. Draws, one per element, model by
  // model: δ₁ (0.1, 0.7, 0.2, 0.9) → keeps e0, e2: (1, 0, −3, 0); rescale (default on) by ‖δ₁‖₁/‖kept‖₁ = 10/4
  //   → (2.5, 0, −7.5, 0).   δ₂ (0.6, 0.3, 0.4, 0.8) → keeps e1, e2: (0, 1, 1, 0); × 5/2 → (0, 2.5, 2.5, 0).
  // dare_linear (no normalize): sum = (2.5, 2.5, −5, 0).
  // dare_ties: Σu = (2.5, 2.5, −5, 0) → signs (+, +, −, +): e2 keeps only −7.5 → (2.5, 2.5, −7.5, 0).
  const draws = [0.1, 0.7, 0.2, 0.9, 0.6, 0.3, 0.4, 0.8];
  const scripted = () => {
    let i = 0;
    return () => draws[i++]!;
  };
  const t = [
    [0, 0, 0, 0],
    [1, 2, -3, 4],
    [-2, 1, 1, -1],
  ];
  const models = [{}, { weight: 1, density: 0.5 }, { weight: 1, density: 0.5 }];
  near(METHODS.dare_linear!.merge(input(t, { base: 0, models, random: scripted() })), [2.5, 2.5, -5, 0], 0);
  near(METHODS.dare_ties!.merge(input(t, { base: 0, models, random: scripted() })), [2.5, 2.5, -7.5, 0], 0);
  // rescale false: the kept values as they are.
  near(
    METHODS.dare_linear!.merge(input(t, { base: 0, models, random: scripted(), params: { rescale: false } })),
    [1, 1, -2, 0],
    0,
  );
});

test("della: hand case with a constant draw of 0.5 (keeps the elements whose probability exceeds 0.5)", () => {
  // δ = (0.1, −0.4, 0.3, 0.2), density 0.5, epsilon 0.1: ranks (0, 3, 2, 1) → p = 0.4 + 0.2·r/3
  //   = (0.4, 0.6, 0.5333, 0.4667); a draw of 0.5 keeps e1, e2: (0, −0.4, 0.3, 0);
  //   rescale (default on for della) × 1.0/0.7 → (0, −0.5714286, 0.4285714, 0).
  // della's sign election with one model and normalize (default) gives that delta back: w·δ/w.
  const t = [
    [1, 1, 1, 1],
    [1.1, 0.6, 1.3, 1.2],
  ];
  const models = [{}, { weight: 0.5, density: 0.5, epsilon: 0.1 }];
  const delta = [0, -0.5714286, 0.4285714, 0];
  near(
    METHODS.della!.merge(input(t, { base: 0, models, random: () => 0.5 })),
    plus([1, 1, 1, 1], delta),
    1e-6,
  );
  // della_linear (no normalize): 0.5·δ.
  near(
    METHODS.della_linear!.merge(input(t, { base: 0, models, random: () => 0.5 })),
    plus(
      [1, 1, 1, 1],
      delta.map((d) => d * 0.5),
    ),
    1e-6,
  );
});

test("della: density ± epsilon outside [0, 1] is refused; the end points are accepted", () => {
  const t = [
    [0, 0, 0],
    [1, 2, 3],
  ];
  assert.throws(
    () =>
      METHODS.della!.merge(input(t, { base: 0, models: [{}, { weight: 1, density: 0.3, epsilon: 0.4 }] })),
    /^MergeMethodError: della: parameter epsilon \(0.4\) must keep density ± epsilon \(density 0.3\) within \[0, 1\]/,
  );
  // density 0.5, epsilon 0.5: p = (0, 0.5, 1): the smallest is always dropped, the largest always kept.
  for (let seed = 1; seed <= 20; seed++) {
    const out = METHODS.della_linear!.merge(
      input(t, {
        base: 0,
        seed,
        models: [{}, { weight: 1, density: 0.5, epsilon: 0.5 }],
        params: { rescale: false },
      }),
    );
    assert.equal(out[0], 0);
    assert.equal(out[2], 3);
  }
});

test("breadcrumbs and breadcrumbs_ties: drop the outliers and the smallest, then mix", () => {
  // δ = (0.1, −0.9, 0.5, 0.3, −0.7, 0.2, 1.0, −0.4, 0.6, 0.8), density 0.6, gamma 0.2:
  //   keep ⌊0.6·10⌋ = 6; drop the ⌊0.2·10⌋ = 2 largest (1.0, −0.9) and the 2 smallest (0.1, 0.2).
  const d = [0.1, -0.9, 0.5, 0.3, -0.7, 0.2, 1.0, -0.4, 0.6, 0.8];
  const kept = [0, 0, 0.5, 0.3, -0.7, 0, 0, -0.4, 0.6, 0.8];
  const zero = d.map(() => 0);
  const models = [{}, { weight: 1, density: 0.6, gamma: 0.2 }];
  near(METHODS.breadcrumbs!.merge(input([zero, d], { base: 0, models })), kept, 1e-7);
  // breadcrumbs_ties with a second model δ₂ = −δ at weight 0.5: Σu = δ_kept/2 everywhere, so the first
  // model wins every sign vote; no normalize by default: the kept δ₁.
  const models2 = [...models, { weight: 0.5, density: 0.6, gamma: 0.2 }];
  near(
    METHODS.breadcrumbs_ties!.merge(input([zero, d, d.map((x) => -x)], { base: 0, models: models2 })),
    kept,
    1e-7,
  );
});
