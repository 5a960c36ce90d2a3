import assert from "node:assert/strict";
import { test } from "node:test";
import { DecoderModel } from "../../src/nn/decoderModel.js";
import { argmax, generate, greedyRows, sampleToken } from "../../src/nn/generate.js";
import { fixture, tempDir } from "../helpers.js";

const root = tempDir();

test("greedy generation with the KV cache gives the tokens of recomputing the whole sequence", async () => {
  for (const family of ["llama", "gemma2", "qwen2"]) {
    // A sliding window of 3 makes the cache's window masking count (gemma2 alternates window and global layers).
    const dir = await fixture(root, { family, layers: 2, dtype: "F32", config: { sliding_window: 3 } });
    const model = await DecoderModel.load(dir);
    const prompt = [256, 72, 105, 33];
    const cached = await generate(model, prompt, { maxTokens: 6 });
    const seq = [...prompt];
    for (let i = 0; i < 6; i++) {
      const logits = await model.logits([seq]);
      const V = model.vocabSize;
      seq.push(argmax(logits.subarray((seq.length - 1) * V, seq.length * V)));
    }
    assert.deepEqual(cached, seq.slice(prompt.length), family);
    await model.release();
  }
});

test("prompts decoded side by side give each prompt's own greedy tokens; a row stops at its stop id", async () => {
  const dir = await fixture(root, {
    family: "llama",
    layers: 2,
    dtype: "F32",
    config: { sliding_window: 3 },
  });
  const model = await DecoderModel.load(dir);
  const prompts = [
    [256, 72, 105, 33],
    [256, 65, 66, 67],
    [256, 9, 8, 7],
  ];
  const alone = await Promise.all(prompts.map((p) => generate(model, p, { maxTokens: 6 })));
  assert.deepEqual(await greedyRows(model, prompts, 6, []), alone);
  const stop = alone[1]![2]!;
  const rows = await greedyRows(model, prompts, 6, [stop]);
  assert.deepEqual(rows[1], alone[1]!.slice(0, alone[1]!.indexOf(stop) + 1));
  // The first row stopping early does not let the others run past the cache (a bug once).
  const first = alone[0]![0]!;
  const capped = await greedyRows(model, prompts, 6, [first]);
  assert.deepEqual(capped[0], [first]);
  for (const r of capped.slice(1)) assert.ok(r.length <= 6);
  await model.release();
});

test("prompts of different lengths, left-padded with their own positions, give each prompt's own greedy tokens", async () => {
  for (const family of ["llama", "gemma2", "qwen2"]) {
    // gemma2's sliding window of 3 makes the per-row window masks count.
    const dir = await fixture(root, { family, layers: 2, dtype: "F32", config: { sliding_window: 3 } });
    const model = await DecoderModel.load(dir);
    const prompts = [
      [256, 72],
      [256, 72, 105, 33, 40, 41, 42],
      [256, 90, 91, 92],
      [256, 33, 34, 35, 36],
    ];
    const alone = [];
    for (const p of prompts) alone.push(await generate(model, p, { maxTokens: 5 }));
    assert.deepEqual(await greedyRows(model, prompts, 5, []), alone, family);
    // Padded past the longest, with filler rows: what a caller bucketing shapes asks for.
    assert.deepEqual(
      await greedyRows(model, prompts, 5, [], undefined, { padTo: 12, rows: 6 }),
      alone,
      family,
    );
    await model.release();
  }
});

test("sampling: reproducible with a seed, top-p keeps only the nucleus", () => {
  const logits = Float32Array.from([2, 1.5, 0.1, -1, -3]);
  // A Lehmer generator, one stream per run of draws.
  const stream = (seed: number) => {
    let s = seed;
    return () => (s = (s * 48271) % 2147483647) / 2147483647;
  };
  const draws = (n: number, topP: number, seed = 7) => {
    const r = stream(seed);
    return Array.from({ length: n }, () => sampleToken(logits, 1, topP, r));
  };
  assert.deepEqual(draws(50, 1), draws(50, 1));
  assert.ok(new Set(draws(200, 1)).size >= 3, "temperature 1 samples several tokens");
  // p(0) ≈ 0.53, p(1) ≈ 0.32: top-p 0.5 keeps only token 0, top-p 0.8 keeps tokens 0 and 1.
  assert.deepEqual(new Set(draws(100, 0.5)), new Set([0]));
  assert.deepEqual(new Set(draws(300, 0.8)), new Set([0, 1]));
  assert.equal(sampleToken(logits, 0, 1, stream(1)), 0);
});
