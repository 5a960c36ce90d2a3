// adapter_config.json of a PEFT LoRA adapter: the fields that decide what merging it means, checked
// before any tensor is read. A setting deepen does not apply is refused by name rather than ignored,
// since ignoring one would write a model that differs from what PEFT would run.
import { join } from "node:path";
import { CheckpointError } from "../../errors.js";
import { readJsonObject } from "../jsonFile.js";
import { previewJson } from "../previewJson.js";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
/** PEFT writes a few KB; a config of megabytes is not an adapter's. */
export const MAX_ADAPTER_CONFIG_BYTES = 4 * 1024 * 1024;
/** Published adapters use ranks up to a few thousand; the merge holds r·(rows + cols) float64 per module. */
export const MAX_LORA_RANK = 16384;
/** target_modules, exclude_modules, modules_to_save and the patterns name a few dozen modules at most. */
export const MAX_MODULE_ENTRIES = 4096;
/** A module-name pattern is a short regular expression; a long one is not PEFT's. */
export const MAX_PATTERN_CHARS = 1024;

/** A list of module-name suffixes, or one regular expression that must match a whole module name. */
export type ModuleSelector =
  { kind: "list"; names: string[] } | { kind: "regex"; source: string; re: RegExp };

export interface LoraConfig {
  file: string;
  r: number;
  loraAlpha: number;
  /** undefined: PEFT then takes its defaults for the model type; every module is accepted here. */
  targetModules?: ModuleSelector;
  /** "all-linear": every linear layer but the output head. */
  allLinear: boolean;
  excludeModules?: ModuleSelector;
  useRslora: boolean;
  fanInFanOut: boolean;
  /** Per-module overrides, in the file's order (PEFT takes the first key that matches). */
  rankPattern: [string, number][];
  alphaPattern: [string, number][];
  layersToTransform?: number[];
  layersPattern?: string[];
  modulesToSave: string[];
  baseModel?: string;
}

// init_lora_weights values whose adapters are saved against a base model they changed (the
// residual of an SVD, a quantized base): merged into the original base they give another model.
// PEFT converts them to plain LoRA when saving with path_initial_model_for_weight_conversion.
const CHANGES_BASE = /^(pissa|olora|corda|loftq)/i;

function fail(file: string, detail: string): never {
  throw new CheckpointError(file, detail);
}

function positive(file: string, key: string, v: unknown, integer: boolean, max = Infinity): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)) || v > max)
    fail(
      file,
      `${key} ${previewJson(v)}: expected a positive ${integer ? "integer" : "number"}${max < Infinity ? ` up to ${max}` : ""}`,
    );
  return v;
}

function flag(file: string, raw: Record<string, unknown>, key: string): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") fail(file, `${key} ${previewJson(v)}: expected true or false`);
  return v;
}

/** Set means "given": null, false, an empty list or object, and an empty string all mean "not used". */
function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/** A JavaScript regular expression for one of PEFT's Python patterns (the two agree on plain ones). */
export function patternRegex(
  file: string,
  key: string,
  source: string,
  whole: (s: string) => string,
): RegExp {
  if (source.length > MAX_PATTERN_CHARS)
    fail(
      file,
      `${key}: a pattern of ${source.length} characters, over the ${MAX_PATTERN_CHARS}-character limit`,
    );
  try {
    return new RegExp(whole(source));
  } catch {
    return fail(file, `${key} ${previewJson(source)}: not a regular expression deepen can read`);
  }
}

function selector(file: string, key: string, v: unknown): ModuleSelector | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string")
    return { kind: "regex", source: v, re: patternRegex(file, key, v, (s) => `^(?:${s})$`) };
  return { kind: "list", names: stringList(file, key, v) };
}

function stringList(file: string, key: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > MAX_MODULE_ENTRIES || !v.every((s) => typeof s === "string"))
    fail(file, `${key} ${previewJson(v)}: expected a list of module names (at most ${MAX_MODULE_ENTRIES})`);
  return v as string[];
}

function pattern(file: string, key: string, v: unknown, integer: boolean): [string, number][] {
  if (v === undefined || v === null) return [];
  if (typeof v !== "object" || Array.isArray(v)) fail(file, `${key} ${previewJson(v)}: expected an object`);
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_MODULE_ENTRIES)
    fail(file, `${key} has ${entries.length} entries, over the ${MAX_MODULE_ENTRIES}-entry limit`);
  return entries.map(([k, n]) => {
    patternRegex(file, `${key} key`, k, (s) => s); // refused now, not when a module is looked up
    return [
      k,
      positive(file, `${key}[${JSON.stringify(k)}]`, n, integer, integer ? MAX_LORA_RANK : Infinity),
    ];
  });
}

function layerList(file: string, v: unknown): number[] | undefined {
  if (!isSet(v) && v !== 0) return undefined;
  const list = typeof v === "number" ? [v] : v;
  if (
    !Array.isArray(list) ||
    list.length > MAX_MODULE_ENTRIES ||
    !list.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
  )
    fail(file, `layers_to_transform ${previewJson(v)}: expected a layer index or a list of them`);
  return list as number[];
}

/** Reads and checks `dir`/adapter_config.json. */
export async function readAdapterConfig(dir: string): Promise<LoraConfig> {
  const file = join(dir, ADAPTER_CONFIG_FILE);
  const raw = await readJsonObject(
    file,
    MAX_ADAPTER_CONFIG_BYTES,
    ": a PEFT adapter folder needs adapter_config.json",
  );
  if (raw.peft_type !== "LORA")
    fail(
      file,
      `peft_type ${previewJson(raw.peft_type)}: deepen merges LoRA adapters only (peft_type "LORA")`,
    );
  if (flag(file, raw, "use_dora"))
    fail(
      file,
      "use_dora: DoRA adapters rescale each weight's columns by a learned magnitude; deepen merges plain LoRA only",
    );
  if (flag(file, raw, "lora_bias"))
    fail(file, "lora_bias: adapters that train a bias in lora_B are not merged by deepen");
  const bias = raw.bias ?? "none";
  if (bias !== "none")
    fail(file, `bias ${previewJson(bias)}: deepen merges adapters trained with bias "none" only`);
  for (const key of [
    "layer_replication",
    "target_parameters",
    "trainable_token_indices",
    "alora_invocation_tokens",
  ])
    if (isSet(raw[key])) fail(file, `${key}: not applied by deepen's LoRA merge`);
  if (flag(file, raw, "use_qalora")) fail(file, "use_qalora: not applied by deepen's LoRA merge");
  const init = raw.init_lora_weights;
  if (typeof init === "string" && CHANGES_BASE.test(init))
    fail(
      file,
      `init_lora_weights ${previewJson(init)}: this adapter belongs to a modified base model; convert it to plain LoRA with PEFT first`,
    );
  const targets = raw.target_modules;
  const allLinear = typeof targets === "string" && targets.toLowerCase() === "all-linear";
  const layersPattern = raw.layers_pattern;
  return {
    file,
    r: positive(file, "r", raw.r, true, MAX_LORA_RANK),
    loraAlpha: positive(file, "lora_alpha", raw.lora_alpha ?? 8, false),
    targetModules: allLinear ? undefined : selector(file, "target_modules", targets),
    allLinear,
    excludeModules: selector(file, "exclude_modules", raw.exclude_modules),
    useRslora: flag(file, raw, "use_rslora"),
    fanInFanOut: flag(file, raw, "fan_in_fan_out"),
    rankPattern: pattern(file, "rank_pattern", raw.rank_pattern, true),
    alphaPattern: pattern(file, "alpha_pattern", raw.alpha_pattern, false),
    layersToTransform: layerList(file, raw.layers_to_transform),
    layersPattern: !isSet(layersPattern)
      ? undefined
      : (typeof layersPattern === "string"
          ? [layersPattern]
          : stringList(file, "layers_pattern", layersPattern)
        ).map((p) => (patternRegex(file, "layers_pattern", p, (s) => s), p)),
    modulesToSave: stringList(file, "modules_to_save", raw.modules_to_save),
    baseModel: typeof raw.base_model_name_or_path === "string" ? raw.base_model_name_or_path : undefined,
  };
}
