import assert from "node:assert/strict";
import { test } from "node:test";
import { gradients } from "../../src/graph/autodiff.js";
import { Graph } from "../../src/graph/graph.js";
import { ModelProto } from "../../src/graph/onnxSchema.js";
import { toOnnx } from "../../src/graph/toOnnx.js";
import { GraphError } from "../../src/errors.js";
import { loadWeights } from "../../src/nn/loadParams.js";
import { CompiledGraph } from "../../src/runtime/session.js";
import { EngineStep } from "../../src/train/engineStep.js";
import { nextTokenBatch, nextTokenLoss } from "../../src/train/nextTokenLoss.js";
import { fusedStepGraph } from "../../src/train/stepGraphs.js";
import { cloneParams, fixture, maxParamDiff, tempDir } from "../helpers.js";

const root = tempDir();
const text = [...Buffer.from("the cat sat on the mat. a dog ran in the fog. the cat sat on the mat.")];
const batch = (offsets: number[], T: number) =>
  nextTokenBatch(
    offsets.map((o) => text.slice(o, o + T)),
    offsets.map((o) => text.slice(o + 1, o + 1 + T)),
  );

// Families whose layers differ in what recomputation runs again: qk-norm (qwen3), soft-capping,
// sliding windows and sandwich norms (gemma2), fused projections (phi3), biases (qwen2).
for (const family of ["qwen3", "gemma2", "phi3", "qwen2"]) {
  test(`--recompute gives the gradients and the step of keeping every activation (${family})`, async () => {
    const dir = await fixture(root, { family, layers: 3, dtype: "F32" });
    const w = await loadWeights(dir);
    const sums = async (recompute: boolean) => {
      const step = await EngineStep.create(w.decoder, cloneParams(w.params), 2, 12, {
        loss: nextTokenLoss,
        microBatches: 2,
        recompute,
      });
      const r = await step.gradientSums([batch([0, 9], 12)]);
      await step.release();
      return r;
    };
    const kept = await sums(false);
    const again = await sums(true);
    assert.equal(again.loss, kept.loss);
    const diff = maxParamDiff(kept.sums, again.sums);
    assert.ok(diff < 1e-6, `largest gradient difference ${diff}`);
    // And the fused step (gradients, clipping, AdamW in one graph) lands on the same parameters.
    const run = async (recompute: boolean) => {
      const step = await EngineStep.create(w.decoder, cloneParams(w.params), 2, 12, {
        loss: nextTokenLoss,
        clipNorm: 0.5,
        recompute,
      });
      for (let s = 0; s < 2; s++) await step.run([batch([s, s + 9], 12)], 1e-2);
      await step.release();
      return step.params;
    };
    const pd = maxParamDiff(await run(false), await run(true));
    assert.ok(pd < 1e-6, `largest parameter difference after two steps ${pd}`);
  });
}

test("the recomputed layers are in the step graph: every layer's products again, less the dead one", async () => {
  const dir = await fixture(root, { family: "llama", layers: 4, dtype: "F32" });
  const w = await loadWeights(dir);
  const shapes = new Map([...w.params].map(([k, v]) => [k, v.shape]));
  const opts = { trainable: [...shapes.keys()], loss: nextTokenLoss };
  const matmuls = (recompute: boolean) => {
    const model = ModelProto.decode(
      fusedStepGraph(w.decoder, shapes, 1, 8, { ...opts, recompute }).bytes,
    ) as unknown as {
      graph: { node: { op_type: string }[] };
    };
    return model.graph.node.filter((n) => n.op_type === "MatMul").length;
  };
  // Per layer the forward has 7 projections and 2 attention products; the copy of the last, the
  // down projection, is dropped as dead: its gradients read its input, not its output.
  assert.equal(matmuls(true) - matmuls(false), 4 * 8);
});

test("a recomputed segment gives the identical gradient after onnxruntime's optimizer has run over the graph", async () => {
  // y = sum(tanh(tanh(x · w))) with the two tanh as a segment: gradient checked against the plain graph.
  const build = (recompute: boolean) => {
    const g = new Graph();
    const x = g.input("x", "float32", [3, 4]);
    const w = g.input("w", "float32", [4, 4]);
    const h = g.op("MatMul", [x, w]);
    const start = g.nodes.length;
    const out = g.op("Tanh", [g.op("Tanh", [h])]);
    const seg = { start, end: g.nodes.length, input: h, output: out };
    const loss = g.op("ReduceSum", [g.op("Mul", [out, out])], { axes: [0, 1], keepdims: 0 });
    const [dw] = gradients(g, loss, [w], { recompute: recompute ? [seg] : [] });
    return toOnnx(g, { dw: dw! });
  };
  const feeds = {
    x: {
      dtype: "float32" as const,
      shape: [3, 4],
      data: Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.8),
    },
    w: {
      dtype: "float32" as const,
      shape: [4, 4],
      data: Float32Array.from({ length: 16 }, (_, i) => 0.3 - i / 20),
    },
  };
  const results = [];
  for (const recompute of [false, true]) {
    const graph = await CompiledGraph.create(build(recompute));
    results.push((await graph.run(feeds)).dw!.data as Float32Array);
    await graph.release();
  }
  assert.deepEqual([...results[1]!], [...results[0]!]);
});

test("a segment whose inside is read after it is refused: the recomputed copy would not reach that reader", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [2]);
  const start = g.nodes.length;
  const inner = g.op("Tanh", [x]);
  const out = g.op("Tanh", [inner]);
  const seg = { start, end: g.nodes.length, input: x, output: out };
  const loss = g.op("ReduceSum", [g.op("Mul", [out, inner])], { axes: [0], keepdims: 0 });
  assert.throws(() => gradients(g, loss, [x], { recompute: [seg] }), GraphError);
  assert.throws(() => gradients(g, loss, [x], { recompute: [{ ...seg, end: start }] }), /not a run/);
});
