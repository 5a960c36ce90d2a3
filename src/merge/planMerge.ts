// From a merge config to the list of output tensors: for each, the same-named tensor of every
// input model, the method's parameters resolved for that tensor (source over slice over global,
// gradients read at the layer's place, {filter, value} lists matched against the name), and a
// producer that merges them when the writer reaches it: one tensor name at a time, streamed in chunks
// (stream.ts) for methods that can, whole for those that need whole tensors.
import { type LayerLayout, layerLayout } from "../arch/layerLayout.js";
import type { DType } from "../checkpoint/dtype.js";
import { openModelFolder } from "../checkpoint/modelFolder.js";
import { numel, type TensorEntry } from "../checkpoint/safetensorsHeader.js";
import { computedTensor, type OutputTensor, readTensorFloats } from "../checkpoint/tensorStream.js";
import { DeepenError, RecipeError } from "../errors.js";
import { hashString, mulberry32 } from "../random.js";
import { locateModel } from "../mergekit/locateModel.js";
import { evaluateSetting, type ParameterSetting } from "../mergekit/scaleRules.js";
import { type ParameterUse, unusedParameterWarnings } from "../mergekit/unusedParameters.js";
import type { MergeConfig, MergeSource, Settings } from "./mergeConfig.js";
import { seekableMulberry32 } from "./methods/chunked.js";
import type { ChunkedInput, MergeMethod, ParamSpec } from "./methods/method.js";
import { Kernels } from "./kernels/kernels.js";
import { permutedRows } from "./permutedRows.js";
import { DEPTH, ElementwiseSession, streamedMergeTensor } from "./stream.js";
import { planVocabulary, type VocabularyPlan } from "./vocabularyPlan.js";

/** One input of one output tensor. */
interface TensorInput {
  model: number;
  entry: TensorEntry;
  /** Parameter settings, most specific first (source, slice, global). */
  settings: Settings[];
}

export interface PlannedTensor {
  name: string;
  shape: number[];
  dtype: DType;
  inputs: TensorInput[];
  baseIndex?: number;
  /** Position for gradients: the layer's place in its slice, 0 for embeddings, 1 for the head. */
  t: number;
  globalSettings: Settings[];
  /** Embeddings or head of a merge across vocabularies: inputs aligned to the output's rows first. */
  aligned?: { tiedTo: string };
}

export interface MergePlan {
  config: MergeConfig;
  method: MergeMethod;
  /** Distinct models, in order of first mention; names as written in the config. */
  refs: string[];
  layouts: LayerLayout[];
  base?: number;
  /** The model whose config.json the output takes (base_model, else the first). */
  reference: number;
  layers: number;
  tensors: PlannedTensor[];
  /** Warnings for parameters the method does not use (ignored, as mergekit ignores them). */
  ignored: string[];
  /** Set when the models' vocabularies are merged (tokenizer_source union, …). */
  vocabulary?: VocabularyPlan;
}

const fmt = (shape: readonly number[]) => `[${shape.join(", ")}]`;

export async function planMerge(config: MergeConfig, method: MergeMethod): Promise<MergePlan> {
  const fail = (d: string) => new RecipeError(config.file, d);
  const refs: string[] = [];
  const layouts: LayerLayout[] = [];
  const indexOf = async (ref: string) => {
    let i = refs.indexOf(ref);
    if (i < 0) {
      refs.push(ref);
      try {
        layouts.push(layerLayout(await openModelFolder(locateModel(ref, config.file))));
      } catch (e) {
        if (e instanceof DeepenError) throw fail(`model ${ref}: ${e.message}`);
        throw e;
      }
      i = refs.length - 1;
    }
    return i;
  };
  const allSources = [...(config.models ?? []), ...(config.slices ?? []).flatMap((s) => s.sources)];
  for (const s of allSources) await indexOf(s.model);
  const base = config.baseModel === undefined ? undefined : await indexOf(config.baseModel);
  const everySliceHasBase = config.slices?.every((sl) => sl.baseModel !== undefined) ?? false;
  if (method.requiresBase && base === undefined && !everySliceHasBase)
    throw fail(`merge_method ${method.name} needs a base_model`);
  const reference = base ?? 0;
  const family = layouts[reference]!.family;
  for (let i = 0; i < layouts.length; i++) {
    if (layouts[i]!.family !== family)
      throw fail(`models ${refs[reference]} and ${refs[i]} differ in architecture`);
  }
  const ignored = [...config.ignoredKeys, ...unusedParameters(config, method)];
  const { embed, head } = family.decoderTensors;
  const embedRows = layouts.map((l) => l.model.tensors.get(embed)?.shape[0] ?? 0);
  const vocabulary = await planVocabulary(config, refs, layouts, base, embedRows, fail);

  const tensors: PlannedTensor[] = [];
  const outDtype = config.outDtype ?? config.dtype;
  const pfx = family.layerPrefix;
  // Adds one output tensor merged from `sources`' tensors named `names[i]` (a layer's tensor has a different index per source).
  const add = (
    outName: string,
    srcs: { source: MergeSource | undefined; model: number; name: string }[],
    t: number,
    slice: Settings,
    base: number | undefined,
  ) => {
    const inputs: TensorInput[] = srcs.map((s) => {
      const entry = layouts[s.model]!.model.tensors.get(s.name);
      if (!entry) throw fail(`model ${refs[s.model]} has no tensor ${s.name}`);
      return { model: s.model, entry, settings: [s.source?.params ?? {}, slice, config.params] };
    });
    const first = inputs[0]!.entry;
    // Across vocabularies the embeddings and head differ in rows; they agree in width.
    const aligned = vocabulary && (outName === embed || outName === head);
    // A head is permuted by its model's embedding ids, so it must have the embedding's rows.
    const same = (s: number[], model: number) =>
      s.length === 2 && s[1] === first.shape[1] && s[0] === embedRows[model];
    for (const inp of inputs) {
      if (
        aligned
          ? !same(inp.entry.shape, inp.model)
          : JSON.stringify(inp.entry.shape) !== JSON.stringify(first.shape)
      ) {
        if (aligned && inp.entry.shape[0] !== embedRows[inp.model] && inp.entry.shape[1] === first.shape[1])
          throw fail(
            `tensor ${outName} has ${inp.entry.shape[0]} rows in ${refs[inp.model]}, its ${embed} ${embedRows[inp.model]}: the vocabularies cannot be aligned`,
          );
        throw fail(
          `tensor ${outName} is ${fmt(first.shape)} in ${refs[inputs[0]!.model]} but ${fmt(inp.entry.shape)} in ${refs[inp.model]}`,
        );
      }
    }
    const baseIndex = base === undefined ? undefined : inputs.findIndex((i) => i.model === base);
    tensors.push({
      name: outName,
      shape: aligned ? [vocabulary.rows, first.shape[1]!] : first.shape,
      dtype: outDtype && ["F32", "F16", "BF16"].includes(first.dtype) ? outDtype : first.dtype,
      inputs,
      baseIndex: baseIndex === undefined || baseIndex < 0 ? undefined : baseIndex,
      t,
      globalSettings: [slice, config.params],
      ...(aligned && { aligned: { tiedTo: embed } }),
    });
  };

  let layers: number;
  if (config.models) {
    // Every tensor of the reference model, merged across the listed models (and base_model when the method needs it).
    const srcModels: { source: MergeSource | undefined; model: number }[] = await Promise.all(
      config.models.map(async (m) => ({ source: m, model: await indexOf(m.model) })),
    );
    if (base !== undefined && method.requiresBase && !srcModels.some((s) => s.model === base)) {
      srcModels.push({ source: undefined, model: base }); // its per-model parameters are not read
    }
    checkCount(method, srcModels.length, fail);
    const ref = layouts[reference]!;
    layers = ref.layers;
    for (const s of srcModels) {
      if (layouts[s.model]!.layers !== layers)
        throw fail(
          `models ${refs[reference]} and ${refs[s.model]} differ in depth (${layers} vs ${layouts[s.model]!.layers} layers)`,
        );
    }
    const place = (name: string) => {
      if (ref.tail.some((e) => e.name === name)) return 1;
      if (!name.startsWith(pfx)) return 0;
      return layers > 1 ? Number(name.slice(pfx.length).split(".")[0]) / (layers - 1) : 1;
    };
    const names = [
      ...ref.head.map((e) => e.name),
      ...ref.layerTensors.flatMap((m, i) => [...m.keys()].map((r) => `${pfx}${i}.${r}`)),
      ...ref.tail.map((e) => e.name),
    ];
    for (const name of names)
      add(
        name,
        srcModels.map((s) => ({ ...s, name })),
        place(name),
        {},
        base,
      );
    for (const s of srcModels) {
      for (const name of layouts[s.model]!.model.tensors.keys()) {
        if (!ref.model.tensors.has(name))
          throw fail(`model ${refs[s.model]} has tensor ${name}, which ${refs[reference]} lacks`);
      }
    }
  } else {
    const slices = config.slices!;
    layers = 0;
    const sliceModels = await Promise.all(
      slices.map((sl) =>
        Promise.all(sl.sources.map(async (s) => ({ source: s, model: await indexOf(s.model) }))),
      ),
    );
    // mergekit: a slice's base_model stands in for the config's; the head reads the first slice's, the tail the last's.
    const sliceBase: (number | undefined)[] = [];
    for (const sl of slices) sliceBase.push(sl.baseModel === undefined ? base : await indexOf(sl.baseModel));
    const edge = (which: "head" | "tail", si: number, t: number) => {
      const srcs = sliceModels[si]!;
      checkCount(method, srcs.length, fail);
      for (const e of layouts[srcs[0]!.model]![which])
        add(
          e.name,
          srcs.map((s) => ({ ...s, name: e.name })),
          t,
          slices[si]!.params,
          sliceBase[si],
        );
    };
    // mergekit takes a token's default row from the models of the tensor being aligned (and the
    // base); deepen plans the defaults once over every model, so it needs the first slice (the
    // embeddings) and the last (the head) to read every model of the config.
    if (vocabulary) {
      for (const si of [0, slices.length - 1]) {
        const reads = new Set([
          ...sliceModels[si]!.map((s) => s.model),
          ...(sliceBase[si] === undefined ? [] : [sliceBase[si]!]),
        ]);
        if (reads.size !== refs.length)
          throw fail(
            `slices[${si}] does not read every model of the config: merging vocabularies across slices needs the first and last slices to (their embeddings and head take rows from every model)`,
          );
      }
    }
    edge("head", 0, 0);
    slices.forEach((sl, si) => {
      const srcs = sliceModels[si]!;
      checkCount(method, srcs.length, fail);
      const sb = sliceBase[si];
      if (sb !== undefined && method.requiresBase && !srcs.some((s) => s.model === sb)) {
        throw fail(`slices[${si}]: base_model ${refs[sb]} must be one of the slice's sources`);
      }
      const [a, b] = sl.sources[0]!.layerRange!;
      for (const s of srcs) {
        const n = layouts[s.model]!.layers;
        if (s.source.layerRange![1] > n)
          throw fail(
            `${s.source.where}.layer_range [${s.source.layerRange![0]}, ${s.source.layerRange![1]}) is outside ${refs[s.model]}, which has ${n} layers`,
          );
      }
      for (let k = 0; k < b - a; k++) {
        const t = b - a > 1 ? k / (b - a - 1) : 1; // mergekit: a one-layer slice reads the gradient's end
        const firstLayer = layouts[srcs[0]!.model]!.layerTensors[sl.sources[0]!.layerRange![0] + k]!;
        for (const rel of firstLayer.keys()) {
          add(
            `${pfx}${layers + k}.${rel}`,
            srcs.map((s) => ({ ...s, name: `${pfx}${s.source.layerRange![0] + k}.${rel}` })),
            t,
            sl.params,
            sliceBase[si],
          );
        }
      }
      layers += b - a;
    });
    edge("tail", slices.length - 1, 1);
  }
  if (vocabulary && !tensors.some((t) => t.aligned))
    throw fail(`the models have no tensor ${embed} to merge their vocabularies in`);
  return { config, method, refs, layouts, base, reference, layers, tensors, ignored, vocabulary };
}

function checkCount(method: MergeMethod, n: number, fail: (d: string) => RecipeError) {
  if (n < method.minModels || (method.maxModels !== undefined && n > method.maxModels)) {
    const want =
      method.maxModels === method.minModels
        ? `exactly ${method.minModels}`
        : method.maxModels === undefined
          ? `at least ${method.minModels}`
          : `${method.minModels} to ${method.maxModels}`;
    throw fail(`merge_method ${method.name} takes ${want} models, got ${n}`);
  }
}

function unusedParameters(config: MergeConfig, method: MergeMethod): string[] {
  const known = [...method.globalParameters, ...method.modelParameters].map((p) => p.name);
  const uses: ParameterUse[] = [];
  const add = (s: Settings, where: string) => Object.keys(s).forEach((name) => uses.push({ name, where }));
  add(config.params, "parameters");
  (config.models ?? []).forEach((m) => add(m.params, `${m.where}.parameters`));
  (config.slices ?? []).forEach((sl, i) => {
    add(sl.params, `slices[${i}].parameters`);
    sl.sources.forEach((s) => add(s.params, `${s.where}.parameters`));
  });
  return unusedParameterWarnings(config.file, method.name, uses, known);
}

/** The value of parameter `spec` for tensor `name` at `t`: the first setting that gives one, else the default. */
function resolve(
  spec: ParamSpec,
  settings: Settings[],
  name: string,
  t: number,
  who: string,
  fail: (d: string) => RecipeError,
  optional = false,
): number | boolean | undefined {
  for (const s of settings) {
    const v = s[spec.name];
    if (v === undefined) continue;
    const value = typeof v === "boolean" ? v : evaluateSetting(v as ParameterSetting, name, t);
    if (value === undefined) continue;
    if (spec.kind === "boolean") return typeof value === "boolean" ? value : value !== 0;
    if (typeof value === "boolean")
      throw fail(`parameter ${spec.name}${who}: expected a number, got ${value}`);
    const below = spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min);
    const above = spec.max !== undefined && value > spec.max;
    if (below || above) {
      const lo = spec.min === undefined ? "-inf" : `${spec.minExclusive ? "(" : "["}${spec.min}`;
      const hi = spec.max === undefined ? "inf)" : `${spec.max}]`;
      throw fail(`parameter ${spec.name} = ${value}${who} for ${name} is outside ${lo}, ${hi}`);
    }
    return value;
  }
  if (spec.default === undefined && !optional)
    throw fail(`parameter ${spec.name}${who} is required by this merge_method and not given`);
  return spec.default;
}

/**
 * Elements per chunk of a streamed merge: 4M, so that a BF16 input is read 8 MiB at a time (reads of
 * that size keep a disk busier than 2 MiB ones) and buffers stay at a few tens of MiB in all.
 */
export const MERGE_CHUNK = 1 << 22;

/**
 * The most bytes a merge's chunk buffers take together: DEPTH chunks of every input and of the
 * output, as float32. A merge of a few models stays at MERGE_CHUNK; one of hundreds of models
 * takes shorter chunks instead of growing past the kernels' memory (4 GiB for WebAssembly).
 */
export const MERGE_BUFFER_BYTES = 1 << 30;

/** Elements per chunk for a merge of `inputs` models: `requested`, or less to stay within MERGE_BUFFER_BYTES. */
export function chunkFor(inputs: number, requested: number): number {
  const fits = Math.floor(MERGE_BUFFER_BYTES / (DEPTH * (inputs + 1) * 4));
  // A reduced chunk stays a multiple of 1024 elements, as long reads and the kernels' groups like.
  return requested <= fits ? requested : Math.max(1024, fits - (fits % 1024));
}

/** How the output tensors are streamed. */
export interface StreamOptions {
  /** Elements per chunk of a streamed merge (default MERGE_CHUNK); tests use small ones. */
  chunkElements?: number;
}

/** The output tensors of a plan, each merged when written. */
export function mergeTensors(plan: MergePlan, seed: number, opts: StreamOptions = {}): OutputTensor[] {
  const fail = (d: string) => new RecipeError(plan.config.file, d);
  const inputs = Math.max(1, ...plan.tensors.map((t) => t.inputs.length));
  const chunk = chunkFor(inputs, opts.chunkElements ?? MERGE_CHUNK);
  // Elementwise merges with a SIMD formula stream their tensors as one sequence of chunks.
  const session = plan.method.simd ? new ElementwiseSession(chunk) : undefined;
  return plan.tensors.map((pt) => {
    // Resolve parameters now, so a bad value fails before anything is written.
    // As in mergekit, the base model's per-model parameters are not required (methods do not read them).
    const modelParams = pt.inputs.map((inp, i) => {
      const out: Record<string, number | boolean> = {};
      for (const spec of plan.method.modelParameters) {
        const v = resolve(
          spec,
          inp.settings,
          pt.name,
          pt.t,
          ` for model ${plan.refs[inp.model]}`,
          fail,
          i === pt.baseIndex,
        );
        if (v !== undefined) out[spec.name] = v;
      }
      return out;
    });
    const params: Record<string, number | boolean> = {};
    for (const spec of plan.method.globalParameters) {
      const v = resolve(spec, pt.globalSettings, pt.name, pt.t, "", fail);
      if (v !== undefined) params[spec.name] = v;
    }
    // Every tensor draws from its own stream, seeded by the seed and its name.
    const tensorSeed = (seed ^ hashString(pt.name)) >>> 0;
    const named = <T>(f: () => T): T => {
      try {
        return f();
      } catch (e) {
        throw fail(`${plan.method.name} on ${pt.name}: ${(e as Error).message}`);
      }
    };
    const { method } = plan;
    // A fresh random stream each time, so checking draws nothing from the merge's.
    const chunkedInput = (): ChunkedInput => ({
      length: numel(pt.shape),
      inputs: pt.inputs.length,
      baseIndex: pt.baseIndex,
      modelParams,
      params,
      shape: pt.shape,
      random: seekableMulberry32(tensorSeed),
    });
    if (method.check) named(() => method.check!(chunkedInput()));
    const mergeWhole = (tensors: Float32Array[]) =>
      named(() =>
        method.merge({
          tensors,
          baseIndex: pt.baseIndex,
          modelParams,
          params,
          shape: pt.shape,
          random: mulberry32(tensorSeed),
        }),
      );
    if (pt.aligned) {
      // Rows in the output vocabulary's order, built whole; the method merges them as any tensor.
      return computedTensor(pt.name, pt.dtype, pt.shape, async (io) => {
        const inputs = await permutedRows(
          io,
          plan.vocabulary!,
          plan.layouts,
          pt.name,
          pt.aligned!.tiedTo,
          pt.inputs.map((i) => i.model),
        );
        return mergeWhole(inputs);
      });
    }
    if (method.chunked) {
      // Chunk by chunk: memory stays at a few MiB per input whatever the tensor's size.
      const input = chunkedInput();
      const entries = pt.inputs.map((i) => i.entry);
      const spec = () => named(() => method.simd!(input));
      const simd = session && Kernels.handles([...entries.map((e) => e.dtype), pt.dtype]);
      return streamedMergeTensor({
        name: pt.name,
        dtype: pt.dtype,
        shape: pt.shape,
        entries,
        chunk,
        session: simd ? { session, index: session.add(entries, pt.dtype, spec) } : undefined,
        plan: (kernels) => named(() => method.chunked!({ ...input, kernels })),
        simd: method.simd && spec,
      });
    }
    // Methods over whole tensors (norms, angles): one tensor of every input in memory.
    return computedTensor(pt.name, pt.dtype, pt.shape, async (io) => {
      const inputs: Float32Array[] = [];
      for (const [slot, inp] of pt.inputs.entries()) inputs.push(await readTensorFloats(io, inp.entry, slot));
      return mergeWhole(inputs);
    });
  });
}
