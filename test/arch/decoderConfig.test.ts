// config.json values the engine computes with: each one it would misuse is refused with its key
// named, before anything runs (issue 15: these gave results with exit status 0).
import assert from "node:assert/strict";
import { test } from "node:test";
import { familyByName } from "../../src/arch/findFamily.js";
import { FAMILIES } from "../../src/arch/families.js";
import { structuralConfig } from "../../src/arch/modelLayout.js";
import { resolveDecoder, VARIANTS } from "../../src/arch/decoderConfig.js";
import { CheckpointError } from "../../src/errors.js";
import { TINY_DIMS } from "../fixtures/syntheticModel.js";

const FILE = "/m/config.json";
const config = (family: string, extra: Record<string, unknown> = {}) => ({
  ...structuralConfig(familyByName(family), 2, TINY_DIMS, false),
  ...extra,
});

function refused(family: string, extra: Record<string, unknown>, detail: string | RegExp) {
  assert.throws(
    () => resolveDecoder(config(family, extra), FILE),
    (e: Error) => {
      assert.ok(e instanceof CheckpointError, `${e.name}: ${e.message}`);
      if (typeof detail === "string") assert.equal(e.message, `${FILE}: ${detail}`);
      else assert.match(e.message, detail);
      return true;
    },
    JSON.stringify(extra),
  );
}

test("every family the engine runs resolves from its plain config", () => {
  for (const f of FAMILIES) if (VARIANTS[f.family]) resolveDecoder(config(f.family), FILE);
});

test("rms_norm_eps, rope_theta and the other positive numbers: zero, negative, null or a string are refused", () => {
  refused("llama", { rms_norm_eps: 0 }, "rms_norm_eps must be a positive number, got 0");
  refused("llama", { rms_norm_eps: -1e-6 }, "rms_norm_eps must be a positive number, got -0.000001");
  refused("llama", { rms_norm_eps: null }, "rms_norm_eps must be a positive number, got null");
  refused("llama", { rope_theta: 0 }, "rope_theta must be a positive number, got 0");
  refused("llama", { rope_theta: "10000" }, 'rope_theta must be a positive number, got "10000"');
  refused("llama", { rope_theta: null }, "rope_theta must be a positive number, got null");
  refused("gemma3_text", { rope_local_base_freq: -1 }, /rope_local_base_freq must be a positive number/);
  refused("granite", { logits_scaling: 0 }, /logits_scaling must be a positive number, got 0/);
  refused("phi3", { partial_rotary_factor: 0 }, "partial_rotary_factor must be in (0, 1], got 0");
  refused(
    "gemma2",
    { final_logit_softcapping: -30 },
    /final_logit_softcapping must be a positive number or null/,
  );
  refused("granite", { residual_multiplier: "0.22" }, /residual_multiplier must be a number/);
  refused("mistral", { sliding_window: "4096" }, /sliding_window must be an integer or null/);
  // Absent means the default; null means none where transformers reads it so.
  resolveDecoder(config("gemma2", { final_logit_softcapping: null, sliding_window: null }), FILE);
});

test("rope_scaling: a factor of zero or below, a non-object, or llama3 factors out of order", () => {
  refused(
    "llama",
    { rope_scaling: { rope_type: "linear", factor: 0 } },
    "rope_scaling.factor must be a positive number, got 0",
  );
  refused(
    "llama",
    { rope_scaling: { type: "dynamic", factor: -2 } },
    /rope_scaling\.factor must be a positive number, got -2/,
  );
  refused("llama", { rope_scaling: "linear" }, 'rope_scaling must be an object or null, got "linear"');
  refused(
    "llama",
    { rope_scaling: { rope_type: { toString: 1 } } },
    /rope_scaling\.rope_type must be a string/,
  );
  refused(
    "llama",
    {
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 4,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    },
    "rope_scaling.high_freq_factor (4) must be greater than low_freq_factor (4)",
  );
  // The keys transformers requires of each type: without them it refuses the config too.
  refused(
    "llama",
    { rope_scaling: { rope_type: "llama3", factor: 8 } },
    "rope_scaling type llama3 needs low_freq_factor, high_freq_factor, original_max_position_embeddings",
  );
  refused("llama", { rope_scaling: { type: "linear" } }, "rope_scaling type linear needs factor");
  // Integers past 2⁵³ are not counts: 1e308 is an integer to JavaScript (found by the fuzz suite).
  refused(
    "llama",
    { max_position_embeddings: 1e308 },
    /max_position_embeddings must be a positive integer, got 1e\+308/,
  );
  refused("llama", { sliding_window: 2 ** 53 + 2 }, /sliding_window must be an integer or null/);
  refused("llama", { rope_scaling: { rope_type: "dynamic" } }, "rope_scaling type dynamic needs factor");
  resolveDecoder(
    config("llama", {
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    }),
    FILE,
  );
});

test("an activation the engine does not compute is refused instead of running as SiLU", () => {
  refused(
    "llama",
    { hidden_act: "relu" },
    'hidden_act "relu" is not an activation the engine runs for this architecture (silu, swish)',
  );
  refused("qwen3", { hidden_act: "frobnicate" }, /hidden_act "frobnicate" is not an activation/);
  refused("mistral", { hidden_act: null }, /hidden_act null is not an activation/);
  // Gemma reads hidden_activation (the exact GELU is not the tanh one it computes) and ignores hidden_act.
  refused(
    "gemma2",
    { hidden_activation: "gelu" },
    /hidden_activation "gelu" is not an activation .*gelu_pytorch_tanh/,
  );
  resolveDecoder(config("gemma", { hidden_act: "gelu", hidden_activation: null }), FILE);
  resolveDecoder(config("llama", { hidden_act: "swish" }), FILE);
});

test("counts: a layer count past the limit, heads that do not divide, layer_types of the wrong length", () => {
  for (const n of [1e9, 2 ** 31])
    refused(
      "llama",
      { num_hidden_layers: n },
      `num_hidden_layers = ${n} is over the 1024-layer limit (corrupt?)`,
    );
  refused("llama", { num_hidden_layers: 1.5 }, "num_hidden_layers must be a positive integer, got 1.5");
  refused("llama", { vocab_size: -288 }, "vocab_size must be a positive integer, got -288");
  refused("llama", { num_key_value_heads: 0 }, "num_key_value_heads must be a positive integer, got 0");
  refused("llama", { num_key_value_heads: 3 }, "4 heads do not split into 3 KV groups");
  refused(
    "llama",
    { head_dim: undefined, hidden_size: 66 },
    "hidden_size 66 does not split into 4 heads, and there is no head_dim",
  );
  refused(
    "qwen3",
    { layer_types: ["full_attention"] },
    /layer_types must list one of .* for each of the 2 layers/,
  );
  refused(
    "gemma3_text",
    { layer_types: ["full_attention", "chunked_attention"] },
    /layer_types has "chunked_attention"/,
  );
});
