import assert from "node:assert/strict";
import { test } from "node:test";
import { DecoderModel } from "../../../src/nn/decoderModel.js";
import { growEmbeddings } from "../../../src/nn/growEmbeddings.js";
import { loadWeights } from "../../../src/nn/loadParams.js";
import { EngineStep } from "../../../src/train/engineStep.js";
import type { EncodedExample } from "../../../src/train/sft/encodeExample.js";
import { SftBatcher } from "../../../src/train/sft/sftBatcher.js";
import { sftLoss, type SftRows, sftStepBatches } from "../../../src/train/sft/sftLoss.js";
import { cloneParams, fixture, maxParamDiff, tempDir } from "../../helpers.js";

const root = tempDir();
const dir = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const w = await loadWeights(dir);

const clone = cloneParams;
const maxDiff = maxParamDiff;
const example = (text: string, trainFrom: number): EncodedExample => {
  const tokens = [...Buffer.from(text)];
  return { tokens, trained: Uint8Array.from(tokens, (_, i) => (i >= trainFrom ? 1 : 0)) };
};
// Uneven: 6 and 17 loss-bearing targets.
const a = example("Q: 2+2? A: four.", 10);
const b = example("Q: capital of France? A: Paris, of course.", 25);

test("two examples packed in one row give the loss and every gradient of the same two in separate rows", async () => {
  const T = a.tokens.length - 1 + b.tokens.length - 1;
  const packed = new SftBatcher([a, b], 0, T, 1, true, 2).next();
  assert.deepEqual(new Set(packed.segments![0]), new Set([1, 2]), "both examples in the row");
  const rows = new SftBatcher([a, b], 0, 48, 2, false, 2).next();
  const gradients = async (r: SftRows, B: number, perRow: boolean) => {
    const len = r.tokens[0]!.length;
    const step = await EngineStep.create(w.decoder, clone(w.params), B, len, {
      loss: sftLoss,
      microBatches: 2, // the accumulate graph: gradients out, nothing updated
      ...(perRow && { decoder: { perRow: true } }),
    });
    const out = await step.gradientSums(sftStepBatches([r]));
    await step.release();
    return out;
  };
  const one = await gradients(packed, 1, true);
  const two = await gradients(rows, 2, false);
  assert.ok(Math.abs(one.loss - two.loss) < 1e-5, `loss ${one.loss} vs ${two.loss}`);
  const diff = maxDiff(one.sums, two.sums);
  assert.ok(diff < 1e-5, `largest gradient difference ${diff}`);
  // The mask matters: without segments the second example would see the first, and differ.
  const leaky = { ...packed, segments: packed.segments!.map((s) => s.map(() => 1)) };
  const wrong = await gradients(leaky, 1, true);
  assert.ok(Math.abs(wrong.loss - two.loss) > 1e-4, "the block mask is what makes them equal");
});

test("2 micro-batches x 1 example equal 1 x 2 with uneven target counts (one mean over the step's targets)", async () => {
  const T = 48;
  const row = (e: EncodedExample): SftRows => {
    const r = new SftBatcher([e], 0, T, 1, false, 2).next();
    const pad = (x: number[], v: number) => [...x, ...new Array<number>(T - x.length).fill(v)];
    return {
      tokens: r.tokens.map((x) => pad(x, 2)),
      targets: r.targets.map((x) => pad(x, 2)),
      weights: r.weights.map((x) => pad(x, 0)),
      tokenCount: r.tokenCount,
    };
  };
  const [ra, rb] = [row(a), row(b)];
  const both: SftRows = {
    tokens: [...ra.tokens, ...rb.tokens],
    targets: [...ra.targets, ...rb.targets],
    weights: [...ra.weights, ...rb.weights],
    tokenCount: ra.tokenCount + rb.tokenCount,
  };
  // Gradients of the step's loss: one micro-batch of two rows against two micro-batches of one
  // (whose sums the update scales by 1/2), compared before AdamW's per-element normalisation,
  // which would magnify rounding in near-zero gradients.
  const opts = { loss: sftLoss, microBatches: 2 };
  const big = await EngineStep.create(w.decoder, clone(w.params), 2, T, opts);
  const g1 = await big.gradientSums(sftStepBatches([both]));
  const small = await EngineStep.create(w.decoder, clone(w.params), 1, T, opts);
  const g2 = await small.gradientSums(sftStepBatches([ra, rb]));
  assert.ok(Math.abs(g1.loss - g2.loss / 2) < 1e-5, `loss ${g1.loss} vs ${g2.loss / 2}`);
  const half = new Map(
    [...g2.sums].map(([k, v]) => [k, { ...v, data: (v.data as Float32Array).map((x) => x / 2) }]),
  );
  const d = maxDiff(g1.sums, half);
  assert.ok(d < 1e-6, `largest gradient difference ${d}`);
  // A mean per micro-batch (what a plain mean loss gives) would weigh a's 6 targets like b's 17.
  const perMicro = (r: SftRows) => sftStepBatches([r])[0]!;
  const g3 = await small.gradientSums([perMicro(ra), perMicro(rb)]);
  const half3 = new Map(
    [...g3.sums].map(([k, v]) => [k, { ...v, data: (v.data as Float32Array).map((x) => x / 2) }]),
  );
  assert.ok(maxDiff(g1.sums, half3) > 1e-4, "per-micro-batch means differ from the step's mean");
  await big.release();
  await small.release();
});

test("--add-chat-tokens: new rows are the mean, logits of the old vocabulary unchanged", async () => {
  // A model whose embedding has exactly the tokenizer's 259 rows, so the two new ones are appended.
  const exact = await loadWeights(
    await fixture(root, { family: "llama", layers: 1, dtype: "F32", dims: { vocab: 259 } }),
  );
  const grown = growEmbeddings(exact.decoder, exact.params, 259, 2);
  for (const name of ["model.embed_tokens.weight", "lm_head.weight"]) {
    const t = grown.get(name)!;
    assert.deepEqual(t.shape, [261, 64]);
    const x = exact.params.get(name)!.data as Float32Array;
    const y = t.data as Float32Array;
    for (let h = 0; h < 64; h++) {
      let mean = 0;
      for (let r = 0; r < 259; r++) mean += x[r * 64 + h]!;
      mean /= 259;
      assert.ok(Math.abs(y[259 * 64 + h]! - mean) < 1e-6 && y[260 * 64 + h] === y[259 * 64 + h]);
    }
  }
  const config = { ...exact.decoder.config, vocab_size: 261 };
  const before = DecoderModel.fromParams(exact.decoder, exact.params);
  const after = DecoderModel.fromParams({ ...exact.decoder, config }, grown);
  const tokens = [[...Buffer.from("hello world")]];
  const l0 = await before.logits(tokens);
  const l1 = await after.logits(tokens);
  for (let t = 0; t < tokens[0]!.length; t++)
    for (let v = 0; v < 259; v++) assert.ok(Math.abs(l0[t * 259 + v]! - l1[t * 261 + v]!) < 1e-5);
  await before.release();
  await after.release();
});
