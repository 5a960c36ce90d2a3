import assert from "node:assert/strict";
import { test } from "node:test";
import { DecoderModel } from "../../src/nn/decoderModel.js";
import { fixture, tempDir } from "../helpers.js";
import { referenceLogits } from "../reference/decoderForward.js";

const root = tempDir();
const tokens = [256, 84, 104, 101, 32, 99, 97, 116, 32, 115, 97, 116, 46, 10];

// Each family with the settings that exercise its distinctive parts: windows shorter than the text,
// every rope_scaling type, soft-capping, Gemma 3's local RoPE base, Phi-3's partial rotary.
const cases: [string, Record<string, unknown>][] = [
  [
    "llama",
    {
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 64,
      },
    },
  ],
  ["llama", { rope_scaling: { type: "linear", factor: 2 } }],
  ["mistral", { sliding_window: 4 }],
  ["qwen2", { use_sliding_window: true, sliding_window: 3, max_window_layers: 1 }],
  ["qwen3", { rope_scaling: { rope_type: "dynamic", factor: 2 }, max_position_embeddings: 8 }],
  ["gemma", {}],
  [
    "gemma2",
    {
      sliding_window: 5,
      query_pre_attn_scalar: 16,
      attn_logit_softcapping: 0.002,
      final_logit_softcapping: 0.1,
    },
  ],
  [
    "gemma3_text",
    {
      sliding_window: 4,
      sliding_window_pattern: 2,
      rope_local_base_freq: 100,
      rope_scaling: { rope_type: "linear", factor: 2 },
      query_pre_attn_scalar: 16,
    },
  ],
  ["phi3", { partial_rotary_factor: 0.5, sliding_window: 4 }],
  ["olmo2", {}],
  ["granite", {}],
];

for (const [family, config] of cases) {
  test(`${family} ${JSON.stringify(config)}: logits match the float64 reference within 1e-4 relative`, async () => {
    const dir = await fixture(root, { family, layers: 3, dtype: "F32", config });
    const ref = await referenceLogits(dir, tokens);
    const model = await DecoderModel.load(dir);
    const got = await model.logits([tokens]);
    await model.release();
    const V = ref[0]!.length;
    let scale = 0;
    let worst = 0;
    ref.forEach((row, t) =>
      row.forEach((r, i) => {
        scale = Math.max(scale, Math.abs(r));
        worst = Math.max(worst, Math.abs(r - got[t * V + i]!));
      }),
    );
    assert.ok(scale > 0);
    assert.ok(worst / scale < 1e-4, `max |diff| ${worst} against max |logit| ${scale}`);
  });
}

test("a rope_scaling type the engine does not compute is refused, not ignored", async () => {
  const dir = await fixture(root, {
    family: "llama",
    layers: 1,
    dtype: "F32",
    config: { rope_scaling: { rope_type: "yarn", factor: 4 } },
  });
  await assert.rejects(DecoderModel.load(dir), /rope_scaling type yarn is not supported by the engine yet/);
});
