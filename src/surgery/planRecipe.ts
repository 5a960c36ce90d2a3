import { type LayerLayout, layerLayout } from "../arch/layerLayout.js";
import { type DType, parseDType } from "../checkpoint/dtype.js";
import { openModelFolder } from "../checkpoint/modelFolder.js";
import { DeepenError, RecipeError, UsageError } from "../errors.js";
import { looksLikeGguf } from "../checkpoint/gguf/readGguf.js";
import { locateModel } from "../mergekit/locateModel.js";
import {
  isMapping,
  modelRef,
  readYamlMapping,
  SOURCE_KEYS,
  sourceModel,
  type YamlFile,
} from "../mergekit/mergekitYaml.js";
import { TOP_KEYS, unknownTopKey } from "../mergekit/unknownTopKey.js";
import { type ParameterSetting, parseParameterSetting } from "../mergekit/scaleRules.js";
import { type ParameterUse, unusedParameterWarnings } from "../mergekit/unusedParameters.js";
import type { LayerPlan, LayerSource, StackLayout } from "./layerPlan.js";

const PASSTHROUGH_PARAMETERS = ["scale"];

const isObj = isMapping;

export interface RecipeOptions {
  /** Overrides the recipe's dtype/out_dtype. */
  dtype?: DType;
  /** Told of each parameter passthrough ignores, once per name, before anything is written. */
  onWarning?: (warning: string) => void;
}

/** How a recipe's models are opened and checked against each other: model folders, or GGUF files. */
export interface RecipeSources<M extends StackLayout> {
  /** Opens the model at a located path; a model of the other format is refused (no mixing). */
  open(path: string): Promise<M>;
  checkCompatible(layouts: M[], names: string[], fail: (d: string) => RecipeError): void;
}

/** A recipe's models as model folders. */
export const FOLDER_SOURCES: RecipeSources<LayerLayout> = {
  async open(path) {
    if (await looksLikeGguf(path)) {
      throw new UsageError(
        `${path} is a GGUF file: a recipe's models must be all model folders or all GGUF files`,
      );
    }
    return layerLayout(await openModelFolder(path));
  },
  checkCompatible,
};

/** The recipe's file and parsed document, read now if only its name is given. */
export async function readRecipe(recipe: string | YamlFile): Promise<YamlFile> {
  return typeof recipe === "string"
    ? { file: recipe, ...(await readYamlMapping(recipe, "slices and merge_method")) }
    : recipe;
}

/** The located path of the recipe's first model (slices[0] or models[0]), or undefined if it names none. */
export function firstRecipeModel({ file, doc }: YamlFile): string | undefined {
  const slice0 = Array.isArray(doc.slices) && isObj(doc.slices[0]) ? doc.slices[0] : undefined;
  const first = Array.isArray(slice0?.sources)
    ? (slice0.sources as unknown[])[0]
    : Array.isArray(doc.models)
      ? (doc.models as unknown[])[0]
      : undefined;
  if (!isObj(first)) return undefined;
  try {
    return locateModel(
      sourceModel(first, "", (d) => new Error(d)),
      file,
    );
  } catch {
    return undefined;
  }
}

/**
 * Reads a mergekit-style passthrough recipe (slices → sources → model, layer_range) into a layer
 * plan: from its file, or from the file already read (a passthrough merge config, read once).
 */
export async function planRecipe(recipe: string | YamlFile, opts: RecipeOptions = {}): Promise<LayerPlan> {
  return planRecipeFrom(recipe, opts, FOLDER_SOURCES);
}

/** planRecipe over models opened by `models`: the layer choice is the same for every format. */
export async function planRecipeFrom<M extends StackLayout>(
  recipe: string | YamlFile,
  opts: RecipeOptions,
  models: RecipeSources<M>,
): Promise<LayerPlan<M>> {
  const { file, doc } = await readRecipe(recipe);
  const fail = (detail: string) => new RecipeError(file, detail);
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) throw fail(unknownTopKey(k));
  if (doc.merge_method !== "passthrough") {
    throw fail(
      `merge_method ${JSON.stringify(doc.merge_method ?? null)}: deepen upscale runs passthrough layer stacks; ` +
        "other methods belong to a merge",
    );
  }
  if (doc.tokenizer !== undefined)
    throw fail(
      "the tokenizer section (vocabulary merging) is not supported for passthrough layer stacks; use tokenizer_source: base or a model of the recipe",
    );
  const uses: ParameterUse[] = [];
  const globalParams = parseParameters(doc.parameters, "parameters", fail, uses);

  // Slices, or the single-model `models:` form, as [{model, range?, params}].
  type Src = { model: string; range?: [number, number]; params: ParameterSetting[]; where: string };
  const sources: Src[] = [];
  if (doc.slices !== undefined) {
    if (!Array.isArray(doc.slices) || doc.slices.length === 0) throw fail("slices must be a non-empty list");
    doc.slices.forEach((slice, i) => {
      const where = `slices[${i}]`;
      if (!isObj(slice)) throw fail(`${where} is not a mapping`);
      for (const k of Object.keys(slice))
        if (k !== "sources" && k !== "parameters") throw fail(`${where}: unknown key ${k}`);
      if (!Array.isArray(slice.sources) || slice.sources.length !== 1) {
        throw fail(`${where}.sources must list exactly one source for passthrough`);
      }
      const sliceParams = parseParameters(slice.parameters, `${where}.parameters`, fail, uses);
      const s = slice.sources[0];
      const sw = `${where}.sources[0]`;
      if (!isObj(s)) throw fail(`${sw} is not a mapping`);
      for (const k of Object.keys(s)) {
        if (!SOURCE_KEYS.has(k)) throw fail(`${sw}: unknown key ${k}`);
      }
      const r = s.layer_range;
      if (
        !Array.isArray(r) ||
        r.length !== 2 ||
        !r.every((x) => Number.isInteger(x) && x >= 0) ||
        r[0] >= r[1]
      ) {
        throw fail(`${sw}.layer_range must be [start, end) with 0 <= start < end, got ${JSON.stringify(r)}`);
      }
      sources.push({
        model: sourceModel(s, sw, fail),
        range: [r[0], r[1]],
        params: [
          ...parseParameters(s.parameters, `${sw}.parameters`, fail, uses),
          ...sliceParams,
          ...globalParams,
        ],
        where: sw,
      });
    });
  } else if (Array.isArray(doc.models) && doc.models.length === 1 && isObj(doc.models[0])) {
    const m = doc.models[0];
    sources.push({
      model: sourceModel(m, "models[0]", fail),
      params: [...parseParameters(m.parameters, "models[0].parameters", fail, uses), ...globalParams],
      where: "models[0]",
    });
  } else {
    throw fail("needs slices (or models with exactly one model) for passthrough");
  }

  // Each model once, in order of first use.
  const names: string[] = [];
  const layouts: M[] = [];
  const indexOf = async (ref: string): Promise<number> => {
    const i = names.indexOf(ref);
    if (i >= 0) return i;
    names.push(ref);
    try {
      layouts.push(await models.open(locateModel(ref, file)));
    } catch (e) {
      if (e instanceof DeepenError) throw fail(`model ${ref}: ${e.message}`);
      throw e;
    }
    return names.length - 1;
  };
  const layers: LayerSource[] = [];
  for (const s of sources) {
    const mi = await indexOf(s.model);
    const n = layouts[mi]!.layers;
    const [a, b] = s.range ?? [0, n];
    if (b > n) throw fail(`${s.where}.layer_range [${a}, ${b}) is outside ${s.model}, which has ${n} layers`);
    for (let l = a; l < b; l++) {
      layers.push({
        model: mi,
        layer: l,
        scale: s.params.length ? s.params : undefined,
        t: b - a > 1 ? (l - a) / (b - a - 1) : 1,
      });
    }
  }
  const base =
    doc.base_model === undefined ? undefined : await indexOf(modelRef(doc.base_model, "base_model", fail));
  const ts = doc.tokenizer_source;
  let tokenizerFrom = base ?? 0;
  if (ts === "union")
    throw fail(
      "tokenizer_source: union (vocabulary merging) is not supported for passthrough layer stacks; use base or a model of the recipe",
    );
  if (ts !== undefined && ts !== "base") {
    // mergekit documents model:NAME and parses a bare NAME as well.
    const named = typeof ts === "string" && ts.startsWith("model:") ? ts.slice("model:".length) : ts;
    const ref = modelRef(named, "tokenizer_source", fail);
    if (!names.includes(ref)) throw fail(`tokenizer_source ${ref} is not a model of this recipe`);
    tokenizerFrom = names.indexOf(ref);
  }
  models.checkCompatible(layouts, names, fail);
  unusedParameterWarnings(file, "passthrough", uses, PASSTHROUGH_PARAMETERS).forEach((w) =>
    opts.onWarning?.(w),
  );
  const outDtype = doc.out_dtype ?? doc.dtype;
  let dtype = opts.dtype;
  if (!dtype && outDtype !== undefined) {
    try {
      dtype = parseDType(String(outDtype), doc.out_dtype !== undefined ? "out_dtype" : "dtype");
    } catch (e) {
      throw fail((e as Error).message);
    }
  }
  return {
    method: "passthrough",
    models: layouts,
    layers,
    headFrom: layers[0]!.model,
    tailFrom: layers[layers.length - 1]!.model,
    configFrom: base ?? layers[0]!.model,
    tokenizerFrom,
    dtype,
    newLayers: [],
    recipe: { method: "passthrough", recipe: doc, models: names, layers: layers.length },
  };
}

function parseParameters(
  v: unknown,
  where: string,
  fail: (d: string) => RecipeError,
  uses: ParameterUse[],
): ParameterSetting[] {
  if (v === undefined || v === null) return [];
  if (!isObj(v)) throw fail(`${where} must be a mapping`);
  const out: ParameterSetting[] = [];
  for (const [k, setting] of Object.entries(v)) {
    uses.push({ name: k, where });
    if (PASSTHROUGH_PARAMETERS.includes(k)) out.push(parseParameterSetting(setting, `${where}.${k}`, fail));
  }
  return out;
}

function checkCompatible(layouts: LayerLayout[], names: string[], fail: (d: string) => RecipeError) {
  const first = layouts[0]!;
  for (let i = 1; i < layouts.length; i++) {
    const other = layouts[i]!;
    if (other.family !== first.family) {
      throw fail(
        `models ${names[0]} (${first.family.family}) and ${names[i]} (${other.family.family}) differ in architecture`,
      );
    }
    for (const key of ["hidden_size", "vocab_size"]) {
      const a = first.model.config[key];
      const b = other.model.config[key];
      if (a !== b) throw fail(`models ${names[0]} and ${names[i]} disagree in ${key} (${a} vs ${b})`);
    }
    const ref = first.layerTensors[0]!;
    const cur = other.layerTensors[0]!;
    for (const [rel, e] of ref) {
      const o = cur.get(rel);
      if (!o) throw fail(`model ${names[i]} has no layer tensor ${rel}, which ${names[0]} has`);
      if (JSON.stringify(o.shape) !== JSON.stringify(e.shape)) {
        throw fail(
          `layer tensor ${rel} is ${JSON.stringify(e.shape)} in ${names[0]} but ${JSON.stringify(o.shape)} in ${names[i]}`,
        );
      }
    }
    for (const rel of cur.keys())
      if (!ref.has(rel)) throw fail(`model ${names[0]} has no layer tensor ${rel}, which ${names[i]} has`);
  }
}
