// The decoder graph's optional inputs and outputs: per-row positions and segment masks for packed
// examples, the residual stream, and the error for a checkpoint that lacks a tensor.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DecoderModel } from "../../src/nn/decoderModel.js";
import { loadWeights } from "../../src/nn/loadParams.js";
import type { HostTensor } from "../../src/runtime/session.js";
import { EngineStep } from "../../src/train/engineStep.js";
import { nextTokenBatch, nextTokenLoss } from "../../src/train/nextTokenLoss.js";
import { editTensors, fixture, tempDir } from "../helpers.js";

const root = tempDir();
const a = [5, 17, 33, 2, 9];
const b = [40, 8, 8, 61, 3, 22, 14, 7];

// Mistral with a window shorter than the segments exercises the sliding mask too.
for (const [family, config] of [
  ["llama", {}],
  ["mistral", { sliding_window: 3 }],
] as const) {
  test(`${family}: a segment packed behind another scores as it does alone`, async () => {
    const dir = await fixture(root, { family, layers: 2, dtype: "F32", config });
    const w = await loadWeights(dir);
    // Alone: b's 7 next-token predictions, every one counted.
    const alone = await EngineStep.create(w.decoder, w.params, 1, b.length - 1, { loss: nextTokenLoss });
    const single = (await alone.run([nextTokenBatch([b.slice(0, -1)], [b.slice(1)])], 0)).loss;
    await alone.release();
    // Packed: a then b in one row, positions restarting at b, only b's predictions counted.
    const T = a.length + b.length - 1;
    const tokens = [...a, ...b.slice(0, -1)];
    const targets = [...a.slice(1), 0, ...b.slice(1)];
    const weights = tokens.map((_, t) => (t >= a.length ? 1 : 0));
    const packed = await EngineStep.create(w.decoder, w.params, 1, T, {
      loss: nextTokenLoss,
      decoder: { perRow: true },
    });
    const batch = {
      ...nextTokenBatch([tokens], [targets], [weights]),
      positions: [[...a.keys(), ...[...b.keys()].slice(0, -1)]],
      segments: [tokens.map((_, t) => (t < a.length ? 0 : 1))],
    };
    const together = (await packed.run([batch], 0)).loss;
    assert.ok(Math.abs(together - single) < 1e-5, `packed ${together} vs alone ${single}`);
    // Without the segment mask b would see a: the loss changes, so the mask is what makes them equal.
    const leaky = { ...batch, segments: [tokens.map(() => 0)] };
    const seen = (await packed.run([leaky], 0)).loss;
    assert.ok(Math.abs(seen - single) > 1e-4, `unmasked ${seen} should differ from ${single}`);
    await packed.release();
  });
}

test("the residual stream: embeddings, then each layer's output; a zeroed block passes it unchanged", async () => {
  const dir = await fixture(root, { family: "llama", layers: 3, dtype: "F32" });
  const w = await loadWeights(dir);
  const zero = (t: HostTensor): HostTensor => ({ ...t, data: new Float32Array(t.data.length) });
  for (const n of ["model.layers.1.self_attn.o_proj.weight", "model.layers.1.mlp.down_proj.weight"]) {
    w.params.set(n, zero(w.params.get(n)!));
  }
  const model = DecoderModel.fromParams(w.decoder, w.params);
  const tokens = [[3, 1, 4, 1, 5, 9]];
  const stream = await model.residualStream(tokens);
  assert.equal(stream.length, 4);
  const H = w.decoder.config.hidden_size;
  const embed = w.params.get("model.embed_tokens.weight")!.data as Float32Array;
  tokens[0]!.forEach((t, i) =>
    assert.deepEqual(stream[0]!.subarray(i * H, (i + 1) * H), embed.subarray(t * H, (t + 1) * H)),
  );
  assert.deepEqual(stream[2], stream[1], "layer 1 writes nothing into the stream");
  assert.notDeepEqual(stream[1], stream[0]);
  await model.release();
});

test("a checkpoint without a tensor the decoder needs is refused at load, naming the folder and the tensor", async () => {
  const dir = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
  await editTensors(dir, (ts) =>
    ts.filter((t) => t.name !== "model.layers.1.post_attention_layernorm.weight"),
  );
  await assert.rejects(
    DecoderModel.load(dir),
    (e: Error) =>
      e.name === "CheckpointError" &&
      e.message.startsWith(dir) &&
      e.message.includes(
        "has no tensor model.layers.1.post_attention_layernorm.weight, which LlamaForCausalLM needs",
      ),
  );
});

test("parameters handed over without a tensor the decoder needs: the graph names it", async () => {
  const dir = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
  const w = await loadWeights(dir);
  w.params.delete("model.layers.1.post_attention_layernorm.weight");
  const model = DecoderModel.fromParams(w.decoder, w.params);
  await assert.rejects(
    model.logits([[1, 2, 3]]),
    (e: Error) =>
      e.name === "CheckpointError" &&
      e.message.includes(dir) &&
      e.message.includes("has no tensor model.layers.1.post_attention_layernorm.weight"),
  );
  await model.release();
});
