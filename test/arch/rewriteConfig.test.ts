import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CheckpointError } from "../../src/errors.js";
import { upscale } from "../../src/surgery/upscale.js";
import { fixture, readJson, tempDir } from "../helpers.js";

const root = tempDir();
const S = "sliding_attention";
const F = "full_attention";

test("layer_types follows each layer to its new place", async () => {
  const types = [S, F, F, S, S, F];
  const src = await fixture(root, { family: "mistral", layers: 6, config: { layer_types: types } });
  const out = join(root, "lt");
  await upscale({ model: src, out, drop: 2 });
  // A = 0..3, B = 2..5
  assert.deepEqual(readJson(join(out, "config.json")).layer_types, [S, F, F, S, F, S, S, F]);
});

test("a per-layer key that is not a list, or layer_types with a non-string kind, is refused before writing", async () => {
  for (const [value, pattern] of [
    ["full_attention", /layer_types must list one value per layer, got "full_attention"/],
    [{ 0: F }, /layer_types must list one value per layer, got \{"0":"full_attention"\}/],
    [[F, 1, F, F], /layer_types has 1, which is not an attention kind/],
  ] as const) {
    const src = await fixture(root, { family: "llama", layers: 4, config: { layer_types: value } });
    const out = join(root, "lt-bad");
    await assert.rejects(
      upscale({ model: src, out, drop: 1 }),
      (e: Error) => e instanceof CheckpointError && pattern.test(e.message),
    );
    assert.equal(existsSync(out), false);
  }
});

test("Gemma 3's index pattern: layers that would change kind get an explicit layer_types and a note", async () => {
  // sliding_window_pattern 6: layers 5 and 11 (0-based) attend globally.
  const src = await fixture(root, { family: "gemma3_text", layers: 12 });
  const out = join(root, "g3");
  const r = await upscale({ model: src, out, drop: 2 }); // A = 0..9, B = 2..11: 20 layers
  const mapped = [...Array(10).keys(), ...Array.from({ length: 10 }, (_, i) => i + 2)].map((l) =>
    (l + 1) % 6 ? S : F,
  );
  const config = readJson(join(out, "config.json"));
  assert.deepEqual(config.layer_types, mapped);
  assert.equal(config.sliding_window_pattern, 6);
  assert.equal(r.warnings.length, 1);
  assert.match(
    r.warnings[0]!,
    /config\.json gains layer_types: layers .* keep their source's attention kind/,
  );
});

test("Gemma 3 with 2m - n a multiple of the pattern keeps its pattern without layer_types", async () => {
  const src = await fixture(root, { family: "gemma3_text", layers: 12 });
  const r = await upscale({ model: src, out: join(root, "g3-ok"), drop: 3 });
  assert.equal(readJson(join(root, "g3-ok", "config.json")).layer_types, undefined);
  assert.deepEqual(r.warnings, []);
});

test("Gemma 2 with an even depth keeps its alternation without layer_types", async () => {
  const src = await fixture(root, { family: "gemma2", layers: 8 });
  const out = join(root, "g2");
  const r = await upscale({ model: src, out, drop: 2 });
  assert.equal(readJson(join(out, "config.json")).layer_types, undefined);
  assert.deepEqual(r.warnings, []);
});

test("Qwen's max_window_layers counts the layers that came from below the threshold", async () => {
  const src = await fixture(root, { family: "qwen2", layers: 8, config: { max_window_layers: 8 } });
  const out = join(root, "q-all");
  await upscale({ model: src, out, drop: 2 });
  assert.equal(readJson(join(out, "config.json")).max_window_layers, 12);
  const src2 = await fixture(root, { family: "qwen3", layers: 8, config: { max_window_layers: 4 } });
  const out2 = join(root, "q-4");
  const r = await upscale({ model: src2, out: out2, drop: 2 });
  // Sliding window off: the threshold is inert, counted but no layer_types forced.
  const c = readJson(join(out2, "config.json"));
  assert.equal(c.max_window_layers, 6); // A: 0..3 below 4, B: 2,3 below 4
  assert.equal(c.layer_types, undefined);
  assert.deepEqual(r.warnings, []);
});

test("Qwen with the sliding window on gets layer_types when the threshold cannot express the new order", async () => {
  const src = await fixture(root, {
    family: "qwen2",
    layers: 8,
    config: { max_window_layers: 4, use_sliding_window: true },
  });
  const out = join(root, "q-sw");
  await upscale({ model: src, out, drop: 2 });
  const c = readJson(join(out, "config.json"));
  const srcTypes = (l: number) => (l >= 4 ? S : F);
  assert.deepEqual(c.layer_types, [0, 1, 2, 3, 4, 5, 2, 3, 4, 5, 6, 7].map(srcTypes));
});

test("a per-layer array of the wrong length is an error naming config.json", async () => {
  const src = await fixture(root, { family: "llama", layers: 4, config: { layer_types: [S, F] } });
  await assert.rejects(
    upscale({ model: src, out: join(root, "bad-lt") }),
    (e: Error) =>
      e instanceof CheckpointError &&
      /config\.json: layer_types has 2 entries, but the model has 4 layers/.test(e.message),
  );
});
