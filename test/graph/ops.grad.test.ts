import assert from "node:assert/strict";
import { test } from "node:test";
import { gradients } from "../../src/graph/autodiff.js";
import { Graph } from "../../src/graph/graph.js";
import { GraphError } from "../../src/errors.js";
import { toOnnx } from "../../src/graph/toOnnx.js";
import { CompiledGraph } from "../../src/runtime/session.js";
import { type GradCase, gradCheck } from "./gradcheck.js";

// One case per op of the table (each op's gradient rule), with broadcasting where the op broadcasts.
const cases: Record<string, GradCase> = {
  Add: { inputs: { a: { shape: [2, 3] }, b: { shape: [3] } }, build: (g, x) => g.op("Add", [x.a!, x.b!]) },
  Sub: { inputs: { a: { shape: [2, 1] }, b: { shape: [2, 3] } }, build: (g, x) => g.op("Sub", [x.a!, x.b!]) },
  Mul: { inputs: { a: { shape: [2, 3] }, b: { shape: [1, 3] } }, build: (g, x) => g.op("Mul", [x.a!, x.b!]) },
  Div: {
    inputs: { a: { shape: [2, 3] }, b: { shape: [3], lo: 0.5, hi: 2 } },
    build: (g, x) => g.op("Div", [x.a!, x.b!]),
  },
  Neg: { inputs: { a: { shape: [4] } }, build: (g, x) => g.op("Neg", [x.a!]) },
  Exp: { inputs: { a: { shape: [4] } }, build: (g, x) => g.op("Exp", [x.a!]) },
  Log: { inputs: { a: { shape: [4], lo: 0.5, hi: 3 } }, build: (g, x) => g.op("Log", [x.a!]) },
  Sqrt: { inputs: { a: { shape: [4], lo: 0.5, hi: 3 } }, build: (g, x) => g.op("Sqrt", [x.a!]) },
  Sigmoid: { inputs: { a: { shape: [5], lo: -3, hi: 3 } }, build: (g, x) => g.op("Sigmoid", [x.a!]) },
  Tanh: { inputs: { a: { shape: [5], lo: -2, hi: 2 } }, build: (g, x) => g.op("Tanh", [x.a!]) },
  // Away from 0, where Relu has no derivative.
  Relu: {
    inputs: { a: { shape: [6], lo: 0.2, hi: 2 } },
    build: (g, x) => g.op("Relu", [g.op("Sub", [x.a!, g.constant(1, [], "float64")])]),
  },
  MatMul: {
    inputs: { a: { shape: [2, 3, 4] }, b: { shape: [4, 2] } },
    build: (g, x) => g.op("MatMul", [x.a!, x.b!]),
  },
  "MatMul (a weight shared by every row: the flat weight-gradient GEMM)": {
    inputs: { a: { shape: [2, 3, 5, 4] }, b: { shape: [4, 3] } },
    build: (g, x) => g.op("MatMul", [x.a!, x.b!]),
  },
  "MatMul (two matrices)": {
    inputs: { a: { shape: [3, 4] }, b: { shape: [4, 2] } },
    build: (g, x) => g.op("MatMul", [x.a!, x.b!]),
  },
  "MatMul (grouped-query broadcast)": {
    // [batch, kv heads, group, T, d] @ [batch, kv heads, 1, d, T]: one key head serves a group of query heads.
    inputs: { q: { shape: [1, 2, 2, 3, 4] }, k: { shape: [1, 2, 1, 4, 3] } },
    build: (g, x) => g.op("MatMul", [x.q!, x.k!]),
  },
  ReduceSum: {
    inputs: { a: { shape: [2, 3, 2] } },
    build: (g, x) => g.op("ReduceSum", [x.a!], { axes: [1], keepdims: 0 }),
  },
  ReduceMean: {
    inputs: { a: { shape: [2, 3, 2] } },
    build: (g, x) => g.op("ReduceMean", [x.a!], { axes: [-1, 0], keepdims: 1 }),
  },
  Softmax: { inputs: { a: { shape: [2, 4] } }, build: (g, x) => g.op("Softmax", [x.a!], { axis: -1 }) },
  LogSoftmax: { inputs: { a: { shape: [3, 4] } }, build: (g, x) => g.op("LogSoftmax", [x.a!], { axis: -1 }) },
  Reshape: { inputs: { a: { shape: [2, 6] } }, build: (g, x) => g.op("Reshape", [x.a!], { shape: [3, 4] }) },
  Transpose: {
    inputs: { a: { shape: [2, 3, 4] } },
    build: (g, x) => g.op("Transpose", [x.a!], { perm: [2, 0, 1] }),
  },
  "Gather (repeated rows)": {
    inputs: { w: { shape: [5, 3] } },
    fixed: { idx: { dtype: "int64", shape: [2, 3], data: BigInt64Array.from([0n, 4n, 4n, 2n, 0n, 4n]) } },
    build: (g, x) => g.op("Gather", [x.w!, x.idx!]),
  },
  Slice: {
    inputs: { a: { shape: [4, 5] } },
    build: (g, x) => g.op("Slice", [x.a!], { axes: [0, 1], starts: [1, 2], ends: [3, 5] }),
  },
  Pad: { inputs: { a: { shape: [2, 3] } }, build: (g, x) => g.op("Pad", [x.a!], { pads: [1, 0, 0, 2] }) },
  Concat: {
    inputs: { a: { shape: [2, 3] }, b: { shape: [2, 1] } },
    build: (g, x) => g.op("Concat", [x.a!, x.b!, x.a!], { axis: 1 }),
  },
  Where: {
    inputs: { a: { shape: [2, 3] }, b: { shape: [3] } },
    fixed: { c: { dtype: "bool", shape: [2, 3], data: Uint8Array.from([1, 0, 1, 0, 0, 1]) } },
    build: (g, x) => g.op("Where", [x.c!, x.a!, x.b!]),
  },
  "GatherLast (target log-probs, repeated targets)": {
    inputs: { a: { shape: [2, 3, 5] } },
    fixed: { t: { dtype: "int64", shape: [2, 3, 1], data: BigInt64Array.from([4n, 0n, 4n, 2n, 2n, 1n]) } },
    build: (g, x) => g.op("GatherLast", [x.a!, x.t!]),
  },
  "SoftmaxCrossEntropy (repeated targets)": {
    inputs: { a: { shape: [2, 3, 5] } },
    fixed: { t: { dtype: "int64", shape: [2, 3, 1], data: BigInt64Array.from([4n, 0n, 4n, 2n, 2n, 1n]) } },
    build: (g, x) => g.op("SoftmaxCrossEntropy", [x.a!, x.t!]),
  },
  Expand: { inputs: { a: { shape: [3, 1] } }, build: (g, x) => g.op("Expand", [x.a!], { shape: [2, 3, 4] }) },
};

for (const [name, c] of Object.entries(cases)) {
  test(`gradient of ${name} matches finite differences (float64)`, async () => {
    await gradCheck(c);
  });
}

test("Cast passes gradients back to the source dtype", async () => {
  await gradCheck(
    {
      inputs: { a: { shape: [4] } },
      build: (g, x) => g.op("Cast", [g.op("Cast", [x.a!], { to: "float32" })], { to: "float64" }),
    },
    1e-4, // float32 in the middle: the function is linear, so a wide step keeps rounding small
    1e-2,
  );
});

test("Softplus (float32 only in onnxruntime): gradient by finite differences, no overflow at ±100", async () => {
  await gradCheck(
    {
      inputs: { a: { shape: [5], lo: -4, hi: 4 } },
      build: (g, x) =>
        g.op("Cast", [g.op("Softplus", [g.op("Cast", [x.a!], { to: "float32" })])], { to: "float64" }),
    },
    2e-3,
    1e-2,
  );
  const g = new Graph();
  const x = g.input("x", "float32", [3]);
  const run = await CompiledGraph.create(toOnnx(g, { y: g.op("Softplus", [x]), s: g.op("Step", [x]) }));
  const out = await run.run({ x: { dtype: "float32", shape: [3], data: Float32Array.of(100, -100, 0) } });
  assert.deepEqual(
    Array.from(out.y!.data as Float32Array).map((v) => Math.round(v * 1e4) / 1e4),
    [100, 0, 0.6931],
  );
  assert.deepEqual(Array.from(out.s!.data as Float32Array), [1, 0, 0], "Step: 1 above 0, else 0");
  await run.release();
});

test("a composite: RMSNorm then SiLU-gated product, reused inputs accumulate", async () => {
  await gradCheck({
    inputs: { x: { shape: [2, 4] }, w: { shape: [4] } },
    build: (g, x) => {
      const sq = g.op("ReduceMean", [g.op("Mul", [x.x!, x.x!])], { axes: [-1], keepdims: 1 });
      const rms = g.op("Sqrt", [g.op("Add", [sq, g.constant(1e-6, [], "float64")])]);
      const n = g.op("Mul", [g.op("Div", [x.x!, rms]), x.w!]);
      return g.op("Mul", [n, g.op("Sigmoid", [n])]);
    },
  });
});

test("autodiff fails loudly on an op without a gradient rule", () => {
  const g = new Graph();
  const u = g.input("u", "float64", [2, 3]);
  const idx = g.input("i", "int64", [2]);
  const s = g.op("ScatterAddRows", [u, idx], { rows: 4 });
  const loss = g.op("ReduceSum", [g.op("Reshape", [s], { shape: [12] })], { axes: [0], keepdims: 0 });
  assert.throws(
    () => gradients(g, loss, [u]),
    (e: Error) => e instanceof GraphError && /no gradient rule for ScatterAddRows/.test(e.message),
  );
});

test("shape errors name the op and the shapes", () => {
  const g = new Graph();
  const a = g.input("a", "float32", [2, 3]);
  const b = g.input("b", "float32", [4, 5]);
  assert.throws(
    () => g.op("MatMul", [a, b]),
    /MatMul\(float32\[2, 3\], float32\[4, 5\]\): inner dimensions 3 and 4 differ/,
  );
  assert.throws(() => g.op("Add", [a, b]), /do not broadcast/);
});
