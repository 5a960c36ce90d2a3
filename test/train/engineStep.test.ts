import assert from "node:assert/strict";
import { test } from "node:test";
import { loadWeights } from "../../src/nn/loadParams.js";
import type { HostTensor } from "../../src/runtime/session.js";
import { EngineStep } from "../../src/train/engineStep.js";
import { nextTokenBatch, nextTokenLoss } from "../../src/train/nextTokenLoss.js";
import { decays } from "../../src/train/stepGraphs.js";
import { cloneParams, fixture, maxParamDiff, tempDir } from "../helpers.js";

const root = tempDir();
const dir = await fixture(root, { family: "qwen3", layers: 2, dtype: "F32" });
const text = [...Buffer.from("the cat sat on the mat. the cat sat on the mat. ")];
const row = (o: number, T: number) => text.slice(o, o + T);
const batch = (offsets: number[], T: number) =>
  nextTokenBatch(
    offsets.map((o) => row(o, T)),
    offsets.map((o) => row(o + 1, T)),
  );
const loss = nextTokenLoss;

const clone = cloneParams;
const maxDiff = maxParamDiff;

test("the fused AdamW step equals the same step computed on the host from the engine's gradients", async () => {
  const w = await loadWeights(dir);
  const start = clone(w.params);
  const lr = 1e-2;
  const fused = await EngineStep.create(w.decoder, clone(start), 2, 8, { loss, adamw: { weightDecay: 0.1 } });
  await fused.run([batch([0, 5], 8)], lr);
  // Gradients from the accumulate graph (one micro-batch, scale 1 → the same mean), then AdamW by hand.
  const acc = await EngineStep.create(w.decoder, clone(start), 2, 8, {
    loss,
    microBatches: 2,
    adamw: { weightDecay: 0.1 },
  });
  const { sums } = await acc.gradientSums([batch([0, 5], 8)]);
  const expected = new Map<string, HostTensor>();
  for (const [name, p] of start) {
    const g = sums.get(name)!.data as Float32Array;
    const x = p.data as Float32Array;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const m = 0.1 * g[i]!; // β₁ = 0.9, from zero moments
      const v = 0.05 * g[i]! * g[i]!; // β₂ = 0.95
      const mHat = m / (1 - 0.9);
      const vHat = v / (1 - 0.95);
      out[i] = x[i]! - lr * (mHat / (Math.sqrt(vHat) + 1e-8) + (decays(name) ? 0.1 * x[i]! : 0));
    }
    expected.set(name, { ...p, data: out });
  }
  assert.ok(maxDiff(fused.params, expected) < 1e-5, `max diff ${maxDiff(fused.params, expected)}`);
  await fused.release();
  await acc.release();
});

test("two accumulated micro-batches of 1 equal one fused step on the batch of 2", async () => {
  const w = await loadWeights(dir);
  const start = clone(w.params);
  const fused = await EngineStep.create(w.decoder, clone(start), 2, 8, { loss });
  const accum = await EngineStep.create(w.decoder, clone(start), 1, 8, { loss, microBatches: 2 });
  for (let s = 0; s < 3; s++) {
    const a = await fused.run([batch([s, s + 7], 8)], 5e-3);
    const b = await accum.run([batch([s], 8), batch([s + 7], 8)], 5e-3);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
    assert.ok(
      Math.abs(a.gradNorm - b.gradNorm) < 1e-4 * a.gradNorm,
      `grad norm ${a.gradNorm} vs ${b.gradNorm}`,
    );
  }
  assert.ok(maxDiff(fused.params, accum.params) < 1e-5);
  await fused.release();
  await accum.release();
});

test("the loss goes down, and frozen parameters stay bit-identical", async () => {
  const w = await loadWeights(dir);
  const start = clone(w.params);
  const trainable = [...w.params.keys()].filter((n) => !n.startsWith("model.layers.0."));
  const step = await EngineStep.create(w.decoder, w.params, 2, 16, { loss, trainable });
  const losses: number[] = [];
  for (let s = 0; s < 25; s++) losses.push((await step.run([batch([0, 24], 16)], 2e-2)).loss);
  assert.ok(losses[24]! < losses[0]! * 0.8, `loss ${losses[0]} -> ${losses[24]}`);
  for (const [name, p] of step.params) {
    const same = Buffer.from((p.data as Float32Array).buffer).equals(
      Buffer.from((start.get(name)!.data as Float32Array).buffer),
    );
    assert.equal(same, !trainable.includes(name), name);
  }
  await step.release();
});

test("clipping: accumulated micro-batches clip the mean gradient exactly as the fused step clips the batch's", async () => {
  const w = await loadWeights(dir);
  const start = clone(w.params);
  const probe = await EngineStep.create(w.decoder, clone(start), 2, 8, { loss });
  const norm = (await probe.run([batch([0, 7], 8)], 0)).gradNorm;
  await probe.release();
  const clipNorm = norm / 4; // active at every step of the run below
  const run = async (B: number, microBatches: number, clip: number) => {
    const step = await EngineStep.create(w.decoder, clone(start), B, 8, {
      loss,
      microBatches,
      clipNorm: clip,
    });
    const norms: number[] = [];
    for (let s = 0; s < 4; s++) {
      const micro = B === 2 ? [batch([s, s + 7], 8)] : [batch([s], 8), batch([s + 7], 8)];
      norms.push((await step.run(micro, 5e-3)).gradNorm);
    }
    await step.release();
    return { params: step.params, norms };
  };
  const fused = await run(2, 1, clipNorm);
  const accum = await run(1, 2, clipNorm);
  assert.ok(
    fused.norms.every((n) => n > clipNorm),
    `clipping active at every step: ${fused.norms}`,
  );
  assert.ok(maxDiff(fused.params, accum.params) < 1e-6, `max diff ${maxDiff(fused.params, accum.params)}`);
  // Clipping changes the result on both paths (Adam's first step alone is scale-invariant).
  const fusedFree = await run(2, 1, 0);
  const accumFree = await run(1, 2, 0);
  assert.ok(maxDiff(fused.params, fusedFree.params) > 1e-4, "fused: clipping has an effect");
  assert.ok(maxDiff(accum.params, accumFree.params) > 1e-4, "accumulated: clipping has an effect");
});

test("a graph refuses a feed it does not take, naming it", async () => {
  const w = await loadWeights(dir);
  const step = await EngineStep.create(w.decoder, clone(w.params), 2, 8, { loss });
  const b = batch([0, 5], 8);
  b.feeds.not_an_input = b.feeds.loss_weights!;
  await assert.rejects(step.run([b], 1e-3), /feed not_an_input is not an input of this graph/);
  await step.release();
});
