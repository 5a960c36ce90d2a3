// mergekit's YAML merge configuration, read into typed form: models or slices, base_model,
// merge_method, parameters (scalars, per-model values, gradients over layers, {filter, value}
// lists), dtype/out_dtype, tokenizer_source or the tokenizer section, chat_template.
import { type DType, parseDType } from "../checkpoint/dtype.js";
import { RecipeError } from "../errors.js";
import { isMapping, modelRef, readYamlMapping, SOURCE_KEYS, sourceModel } from "../mergekit/mergekitYaml.js";
import { TOP_KEYS, unknownTopKey } from "../mergekit/unknownTopKey.js";
import { type ParameterSetting, parseParameterSetting } from "../mergekit/scaleRules.js";
import { parseTokenizerSection, parseTokenizerSource, type TokenizerSpec } from "./tokenizerConfig.js";

export type Settings = Record<string, ParameterSetting | boolean>;

export interface MergeSource {
  model: string;
  layerRange?: [number, number];
  params: Settings;
  where: string;
}

export interface MergeSlice {
  sources: MergeSource[];
  params: Settings;
  /** This slice's base model (mergekit's per-slice base_model), over the config's. */
  baseModel?: string;
}

export interface MergeConfig {
  file: string;
  method: string;
  /** The models form: every tensor of every model, merged whole. */
  models?: MergeSource[];
  slices?: MergeSlice[];
  baseModel?: string;
  params: Settings;
  dtype?: DType;
  outDtype?: DType;
  /** tokenizer_source or the tokenizer section; absent: the reference model's tokenizer, as today. */
  tokenizer?: TokenizerSpec;
  chatTemplate?: string;
  /** Keys mergekit accepts and no merge reads, ignored with a warning. */
  ignoredKeys: string[];
  /** The YAML as written, kept beside the output. */
  text: string;
  raw: Record<string, unknown>;
}

const isObj = isMapping;

export async function readMergeConfig(file: string): Promise<MergeConfig> {
  const fail = (d: string) => new RecipeError(file, d);
  const { text, doc } = await readYamlMapping(file, "merge_method and models or slices");
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) throw fail(unknownTopKey(k));
  if (typeof doc.merge_method !== "string") throw fail("merge_method is missing");
  // mergekit's config validator refuses the two together.
  if (doc.tokenizer !== undefined && doc.tokenizer_source !== undefined)
    throw fail("give tokenizer_source or the tokenizer section, not both");
  const source = (s: unknown, where: string, needRange: boolean): MergeSource => {
    if (!isObj(s)) throw fail(`${where} is not a mapping`);
    for (const k of Object.keys(s)) {
      if (!SOURCE_KEYS.has(k)) throw fail(`${where}: unknown key ${k}`);
    }
    let layerRange: [number, number] | undefined;
    if (s.layer_range !== undefined || needRange) {
      const r = s.layer_range;
      if (
        !Array.isArray(r) ||
        r.length !== 2 ||
        !r.every((x) => Number.isInteger(x) && x >= 0) ||
        r[0] >= r[1]
      ) {
        throw fail(
          `${where}.layer_range must be [start, end) with 0 <= start < end, got ${JSON.stringify(r)}`,
        );
      }
      layerRange = [r[0], r[1]];
    }
    return {
      model: sourceModel(s, where, fail),
      layerRange,
      params: settings(s.parameters, `${where}.parameters`, fail),
      where,
    };
  };
  const ignoredKeys: string[] = [];
  let models: MergeSource[] | undefined;
  let slices: MergeSlice[] | undefined;
  if (doc.slices !== undefined) {
    if (doc.models !== undefined) throw fail("give models or slices, not both");
    if (!Array.isArray(doc.slices) || doc.slices.length === 0) throw fail("slices must be a non-empty list");
    slices = doc.slices.map((sl, i) => {
      const where = `slices[${i}]`;
      if (!isObj(sl) || !Array.isArray(sl.sources) || sl.sources.length === 0)
        throw fail(`${where}.sources must be a non-empty list`);
      for (const k of Object.keys(sl)) {
        if (k === "residual_weight") {
          // In mergekit's schema since its first versions; no merge method reads it.
          ignoredKeys.push(
            `${file}: ${where}.residual_weight is not read by any mergekit merge method; ignored`,
          );
        } else if (k !== "sources" && k !== "parameters" && k !== "base_model")
          throw fail(`${where}: unknown key ${k}`);
      }
      const sources = sl.sources.map((s, j) => source(s, `${where}.sources[${j}]`, true));
      const len = sources[0]!.layerRange![1] - sources[0]!.layerRange![0];
      for (const s of sources) {
        if (s.layerRange![1] - s.layerRange![0] !== len)
          throw fail(`${where}: every source's layer_range must span ${len} layers`);
      }
      return {
        sources,
        params: settings(sl.parameters, `${where}.parameters`, fail),
        baseModel:
          sl.base_model === undefined ? undefined : modelRef(sl.base_model, `${where}.base_model`, fail),
      };
    });
  } else {
    if (!Array.isArray(doc.models) || doc.models.length === 0)
      throw fail("needs models (a non-empty list) or slices");
    models = doc.models.map((m, i) => source(m, `models[${i}]`, false));
  }
  const dtypeOf = (key: "dtype" | "out_dtype") => {
    const v = doc[key];
    if (v === undefined) return undefined;
    try {
      return parseDType(String(v), key);
    } catch (e) {
      throw fail((e as Error).message);
    }
  };
  const chat = doc.chat_template;
  if (chat !== undefined && typeof chat !== "string") throw fail("chat_template must be a string");
  const tokenizer =
    doc.tokenizer !== undefined
      ? parseTokenizerSection(doc.tokenizer, fail)
      : doc.tokenizer_source !== undefined
        ? {
            source: parseTokenizerSource(doc.tokenizer_source, "tokenizer_source", fail),
            tokens: new Map(),
            section: false,
          }
        : undefined;
  return {
    file,
    method: doc.merge_method,
    models,
    slices,
    baseModel: doc.base_model === undefined ? undefined : modelRef(doc.base_model, "base_model", fail),
    params: settings(doc.parameters, "parameters", fail),
    dtype: dtypeOf("dtype"),
    outDtype: dtypeOf("out_dtype"),
    tokenizer,
    chatTemplate: chat,
    ignoredKeys,
    text,
    raw: doc,
  };
}

function settings(v: unknown, where: string, fail: (d: string) => RecipeError): Settings {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw fail(`${where} must be a mapping`);
  // Entries, not assignments: a parameter named __proto__ must reach the unknown-parameter check.
  return Object.fromEntries(Object.entries(v).map(([k, s]) => [k, setting(s, `${where}.${k}`, fail)]));
}

function setting(v: unknown, where: string, fail: (d: string) => RecipeError): ParameterSetting | boolean {
  return typeof v === "boolean" ? v : parseParameterSetting(v, where, fail);
}
