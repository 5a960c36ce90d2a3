import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DecoderModel } from "../../../src/nn/decoderModel.js";
import { loadWeights } from "../../../src/nn/loadParams.js";
import type { HostTensor } from "../../../src/runtime/session.js";
import { DpoBatcher } from "../../../src/train/dpo/dpoBatcher.js";
import type { EncodedPair } from "../../../src/train/dpo/dpoData.js";
import { dpoLoss, type DpoLossSettings, dpoStepBatch } from "../../../src/train/dpo/dpoLoss.js";
import { sequenceLogpsOf } from "../../../src/train/dpo/referenceLogps.js";
import type { EncodedExample } from "../../../src/train/sft/encodeExample.js";
import { EngineStep } from "../../../src/train/engineStep.js";
import { referenceLogits } from "../../reference/decoderForward.js";
import { editTensors, fixture, tempDir } from "../../helpers.js";

const root = tempDir();
const dir = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const w = await loadWeights(dir);

// Byte tokens (the fixture's tokenizer); only the response's bytes are trained.
const side = (prompt: string, response: string): EncodedExample => {
  const p = [...Buffer.from(prompt)];
  const r = [...Buffer.from(response)];
  return { tokens: [...p, ...r], trained: Uint8Array.from([...p.map(() => 0), ...r.map(() => 1)]) };
};
const pairs: EncodedPair[] = [
  { chosen: side("Q: 2+2?\n", "A: 4."), rejected: side("Q: 2+2?\n", "A: 5!!") },
  { chosen: side("Sky color?\n", "blue"), rejected: side("Sky color?\n", "green, maybe") },
];
const B = pairs.length;
const rows = new DpoBatcher(pairs, 0, 32, B, 2).rows([0, 1]);
const T = rows.tokens[0]!.length;

const batch = (ref: Float32Array) => dpoStepBatch(rows, ref);
const engineGradients = async (s: DpoLossSettings, params: Map<string, HostTensor>, ref: Float32Array) => {
  const step = await EngineStep.create(w.decoder, params, 2 * B, T, { loss: dpoLoss(s), microBatches: 2 });
  const out = await step.gradientSums([batch(ref)]);
  await step.release();
  return out;
};

// The loss written out in float64 on the reference forward (test/reference), independent of the engine.
const logSigmoid = (x: number) => -(x > 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x)));
async function sequenceLogp64(modelDir: string, e: EncodedExample, average: boolean): Promise<number> {
  const logits = await referenceLogits(modelDir, e.tokens.slice(0, -1));
  let sum = 0;
  let n = 0;
  logits.forEach((l, t) => {
    if (!e.trained[t + 1]) return;
    const max = Math.max(...l);
    const lse = max + Math.log(l.reduce((a, v) => a + Math.exp(v - max), 0));
    sum += l[e.tokens[t + 1]!]! - lse;
    n++;
  });
  return average ? sum / n : sum;
}
async function loss64(modelDir: string, s: DpoLossSettings): Promise<number> {
  let total = 0;
  // RPO: the chosen responses' NLL per token over the batch, times alpha.
  let chosenNll = 0;
  let chosenTokens = 0;
  for (const p of pairs) {
    chosenNll -= await sequenceLogp64(modelDir, p.chosen, false);
    chosenTokens += p.chosen.trained.filter((t) => t === 1).length;
  }
  for (const p of pairs) {
    // Reference-free: the reference's log-probabilities are 0.
    const z =
      (await sequenceLogp64(modelDir, p.chosen, s.averageLogps)) -
      (await sequenceLogp64(modelDir, p.rejected, s.averageLogps));
    if (s.loss === "sigmoid")
      total += -(1 - s.labelSmoothing) * logSigmoid(s.beta * z) - s.labelSmoothing * logSigmoid(-s.beta * z);
    else if (s.loss === "ipo") total += (z - 1 / (2 * s.beta)) ** 2;
    else total += Math.max(0, 1 - s.beta * z);
  }
  return total / B + s.rpoAlpha * (chosenNll / chosenTokens);
}

test("step 0 with the reference equal to the policy: the sigmoid loss is ln 2 and every reward is 0", async () => {
  const model = DecoderModel.fromParams(w.decoder, w.params);
  const sides = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  const ref = await sequenceLogpsOf(model, sides, { rows: 2 * B, seqLen: 32, padId: 2, average: false });
  await model.release();
  const s: DpoLossSettings = { loss: "sigmoid", beta: 0.1, labelSmoothing: 0, averageLogps: false, rpoAlpha: 0 };
  const out = await engineGradients(s, w.params, ref);
  assert.ok(Math.abs(out.loss - Math.LN2) < 1e-6, `loss ${out.loss}`);
  for (const k of ["rewards/chosen", "rewards/rejected", "rewards/margins"])
    assert.ok(Math.abs(out.metrics[k]!) < 1e-5, `${k} ${out.metrics[k]}`);
  assert.ok(out.metrics["logps/chosen"]! < 0 && out.metrics["logps/rejected"]! < 0);
});

const variants: DpoLossSettings[] = [
  { loss: "sigmoid", beta: 0.5, labelSmoothing: 0, averageLogps: false, rpoAlpha: 0 },
  { loss: "sigmoid", beta: 0.5, labelSmoothing: 0.1, averageLogps: true, rpoAlpha: 0 },
  { loss: "ipo", beta: 0.5, labelSmoothing: 0, averageLogps: true, rpoAlpha: 0 },
  // beta large enough that βz stays below 1 for these pairs: the hinge is active.
  { loss: "hinge", beta: 0.01, labelSmoothing: 0, averageLogps: false, rpoAlpha: 0 },
  { loss: "sigmoid", beta: 0.5, labelSmoothing: 0, averageLogps: false, rpoAlpha: 1 },
];
for (const s of variants) {
  test(`${s.loss}${s.labelSmoothing ? " with label smoothing" : ""}${s.rpoAlpha ? " with RPO's NLL term" : ""}: loss and gradients equal a float64 computation`, async () => {
    const zeros = new Float32Array(2 * B);
    const out = await engineGradients(s, w.params, zeros);
    const expected = await loss64(dir, s);
    assert.ok(expected > 0.01, "a loss with gradient (the hinge is not saturated)");
    assert.ok(Math.abs(out.loss - expected) <= 1e-4 * Math.abs(expected), `loss ${out.loss} vs ${expected}`);
    // Central differences in float64 at the largest gradient entry of two tensors.
    for (const name of ["lm_head.weight", "model.layers.1.mlp.down_proj.weight"]) {
      const g = out.sums.get(name)!.data as Float32Array;
      let k = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[k]!)) k = i;
      const at = async (delta: number) => {
        const copy = join(root, `fd-${s.loss}-${s.rpoAlpha}-${name}-${delta}`);
        cpSync(dir, copy, { recursive: true });
        let value = 0;
        await editTensors(copy, (ts) =>
          ts.map((t) => {
            if (t.name !== name) return t;
            const bytes = Buffer.from(t.bytes);
            value = Math.fround(bytes.readFloatLE(4 * k) + delta);
            bytes.writeFloatLE(value, 4 * k);
            return { ...t, bytes };
          }),
        );
        return { value, loss: await loss64(copy, s) };
      };
      const [hi, lo] = [await at(1e-3), await at(-1e-3)];
      const fd = (hi.loss - lo.loss) / (hi.value - lo.value);
      assert.ok(Math.abs(g[k]! - fd) <= 1e-4 * Math.abs(fd) + 1e-7, `${name}[${k}]: engine ${g[k]} vs ${fd}`);
    }
  });
}

test("one step on a single pair raises the chosen log-ratio against the rejected one", async () => {
  const s: DpoLossSettings = { loss: "sigmoid", beta: 0.1, labelSmoothing: 0, averageLogps: false, rpoAlpha: 0 };
  const one = [pairs[1]!];
  const r1 = new DpoBatcher(one, 0, 32, 1, 2).rows([0]);
  const step = await EngineStep.create(w.decoder, new Map(w.params), 2, r1.tokens[0]!.length, {
    loss: dpoLoss(s),
  });
  const z = async (params: Map<string, HostTensor>) => {
    const m = DecoderModel.fromParams(w.decoder, params);
    const l = await sequenceLogpsOf(m, [one[0]!.chosen, one[0]!.rejected], {
      rows: 2,
      seqLen: 32,
      padId: 2,
      average: false,
    });
    await m.release();
    return l[0]! - l[1]!;
  };
  const before = await z(w.params);
  await step.run([dpoStepBatch(r1, new Float32Array(2))], 1e-3);
  const after = await z(step.params);
  await step.release();
  assert.ok(after > before + 0.1, `log-ratio margin ${before} -> ${after}`);
});
