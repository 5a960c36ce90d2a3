// config.json values the engine computes with, checked before anything runs. A value it cannot use
// is refused with the key named, because each of these would otherwise give a result with exit
// status 0: rms_norm_eps ≤ 0 divides by zero (NaN), a rope_theta of 0 or a negative rope factor
// scrambles positions, an activation the engine does not compute would run as the variant's own.

import { configDims, isPositiveInt } from "./configDims.js";
import { checkLayerCount } from "./layerLayout.js";
import { previewJson } from "../checkpoint/previewJson.js";
import { CheckpointError } from "../errors.js";
import type { Variant } from "./decoderConfig.js";

/**
 * The activation names (transformers' ACT2FN keys) that are the function each variant computes, and
 * the key that names it: Gemma's MLPs read hidden_activation (unset: the tanh GELU), the others
 * hidden_act (unset: SiLU), as transformers does.
 */
const ACTIVATIONS: ReadonlyMap<Variant["activation"], { key: string; names: readonly string[] }> = new Map([
  ["silu", { key: "hidden_act", names: ["silu", "swish"] }],
  ["gelu_tanh", { key: "hidden_activation", names: ["gelu_pytorch_tanh", "gelu_new", "gelu_fast"] }],
]);

const LAYER_TYPES = ["sliding_attention", "full_attention"];

/** Refuses config.json values the engine would misuse; `raw` is config.json as read. */
export function checkDecoderConfig(raw: Record<string, unknown>, variant: Variant, configFile: string): void {
  const fail = (detail: string) => new CheckpointError(configFile, detail);
  const got = (v: unknown) => `got ${previewJson(v)}`;
  const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

  configDims(raw, configFile);
  const layers = checkLayerCount(raw, "num_hidden_layers", configFile);
  for (const key of ["max_position_embeddings", "sliding_window_pattern"]) {
    if (raw[key] !== undefined && !isPositiveInt(raw[key]))
      throw fail(`${key} must be a positive integer, ${got(raw[key])}`);
  }

  // Present means used: null is not "the default" to the engine or to transformers.
  for (const key of [
    "rms_norm_eps",
    "rope_theta",
    "rope_local_base_freq",
    "query_pre_attn_scalar",
    "logits_scaling",
  ]) {
    if (raw[key] !== undefined && !(isNumber(raw[key]) && raw[key] > 0))
      throw fail(`${key} must be a positive number, ${got(raw[key])}`);
  }
  const prf = raw.partial_rotary_factor;
  if (prf !== undefined && !(isNumber(prf) && prf > 0 && prf <= 1))
    throw fail(`partial_rotary_factor must be in (0, 1], ${got(prf)}`);
  for (const key of ["attn_logit_softcapping", "final_logit_softcapping"]) {
    const v = raw[key];
    if (v !== undefined && v !== null && !(isNumber(v) && v > 0))
      throw fail(`${key} must be a positive number or null, ${got(v)}`);
  }
  for (const key of ["embedding_multiplier", "residual_multiplier", "attention_multiplier"]) {
    if (raw[key] !== undefined && !isNumber(raw[key]))
      throw fail(`${key} must be a number, ${got(raw[key])}`);
  }
  const window = raw.sliding_window;
  if (window !== undefined && window !== null && !(isNumber(window) && Number.isSafeInteger(window)))
    throw fail(`sliding_window must be an integer or null, ${got(window)}`);
  const mwl = raw.max_window_layers;
  if (mwl !== undefined && mwl !== null && !(isNumber(mwl) && Number.isSafeInteger(mwl) && mwl >= 0))
    throw fail(`max_window_layers must be a non-negative integer, ${got(mwl)}`);

  checkRopeScaling(raw.rope_scaling, fail);

  const act = ACTIVATIONS.get(variant.activation)!;
  const name = raw[act.key];
  // Gemma's hidden_activation may be null: transformers then runs the tanh GELU, as the engine does.
  const unset = name === undefined || (name === null && act.key === "hidden_activation");
  if (!unset && !(typeof name === "string" && act.names.includes(name)))
    throw fail(
      `${act.key} ${previewJson(name)} is not an activation the engine runs for this architecture (${act.names.join(", ")})`,
    );

  const types = raw.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== layers)
      throw fail(`layer_types must list one of ${LAYER_TYPES.join(", ")} for each of the ${layers} layers`);
    const bad = types.find((t) => typeof t !== "string" || !LAYER_TYPES.includes(t));
    if (bad !== undefined)
      throw fail(`layer_types has ${previewJson(bad)}; the engine runs ${LAYER_TYPES.join(" and ")} layers`);
  }
}

const REQUIRED_ROPE_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ["linear", ["factor"]],
  ["dynamic", ["factor"]],
  ["llama3", ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"]],
]);

/** rope_scaling's fields (whether the engine computes its type is resolveDecoder's check). */
function checkRopeScaling(rs: unknown, fail: (detail: string) => CheckpointError): void {
  if (rs === undefined || rs === null) return;
  if (typeof rs !== "object" || Array.isArray(rs))
    throw fail(`rope_scaling must be an object or null, got ${previewJson(rs)}`);
  const r = rs as Record<string, unknown>;
  for (const key of ["rope_type", "type"])
    if (r[key] !== undefined && typeof r[key] !== "string")
      throw fail(`rope_scaling.${key} must be a string, got ${previewJson(r[key])}`);
  const positive = (key: string) => {
    const v = r[key];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v > 0))
      throw fail(`rope_scaling.${key} must be a positive number, got ${previewJson(v)}`);
  };
  for (const key of ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"])
    positive(key);
  // The keys each type needs, as transformers' rope validation requires them (it refuses the config
  // without them): a default here would invent a context extension the checkpoint never had.
  const type = (r.rope_type ?? r.type ?? "default") as string;
  const missing = (REQUIRED_ROPE_KEYS.get(type) ?? []).filter((k) => r[k] === undefined);
  if (missing.length > 0) throw fail(`rope_scaling type ${type} needs ${missing.join(", ")}`);
  if (type === "llama3") {
    // llama3 interpolates between the two wavelengths these set.
    const low = r.low_freq_factor as number;
    const high = r.high_freq_factor as number;
    if (!(high > low))
      throw fail(`rope_scaling.high_freq_factor (${high}) must be greater than low_freq_factor (${low})`);
  }
}
