import { GGMLFileQuantizationType, GGUFValueType } from "@huggingface/gguf";
import { basename } from "node:path";
import { type GgufLayout, ggufLayout } from "../arch/ggufLayout.js";
import { describeValue, type GgufMetadata, metaNumber, metaString } from "../checkpoint/gguf/ggufMetadata.js";
import { type GgufTensor, readGguf } from "../checkpoint/gguf/readGguf.js";
import { CheckpointError } from "../errors.js";
import type { TensorInfo } from "./inspectModel.js";

export interface GgufTypeUse {
  tensors: number;
  parameters: number;
  bytes: number;
}

/** `deepen inspect` of a GGUF file: the shape of ModelReport where it applies, plus what GGUF adds. */
export interface GgufReport {
  format: "gguf";
  name: string;
  file: string;
  bytes: number;
  version: number;
  architecture: string | null;
  layers: number | null;
  parameters: number;
  /** general.file_type by llama.cpp's name (Q4_K_M), or its number if unknown. */
  fileType: string | null;
  /** The quantization mix: per tensor type, its tensors, parameters and bytes. */
  types: Record<string, GgufTypeUse>;
  tokenizer: {
    model: string | null;
    pre: string | null;
    vocabSize: number;
    bos: number | null;
    eos: number | null;
  } | null;
  contextLength: number | null;
  embeddingLength: number | null;
  feedForwardLength: number | number[] | null;
  heads: number | number[] | null;
  kvHeads: number | number[] | null;
  /** Every metadata key with its value as a person reads it (arrays by type and length). */
  metadata: { key: string; value: string }[];
  head: TensorInfo[];
  layerGroups: { first: number; last: number; tensors: TensorInfo[] }[];
  tail: TensorInfo[];
  /** Why the tensors could not be sorted by layer, if they could not. */
  layoutProblem: string | null;
}

const info = (name: string, t: GgufTensor): TensorInfo => ({ name, dtype: t.type.name, shape: t.dims });
const elements = (t: GgufTensor) => t.dims.reduce((a, b) => a * b, 1);

/** A number, or a per-layer array of numbers, under `key`. */
function numberOrArray(meta: GgufMetadata, key: string): number | number[] | null {
  const v = meta.get(key);
  if (v?.type === GGUFValueType.ARRAY) return (v.value as unknown[]).map(Number);
  return metaNumber(meta, key) ?? null;
}

/** What a GGUF file holds, from its header alone. */
export async function inspectGguf(path: string): Promise<GgufReport> {
  const g = await readGguf(path);
  const meta = g.metadata;
  let layout: GgufLayout | undefined;
  let layoutProblem: string | null = null;
  try {
    layout = ggufLayout(g);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    layoutProblem = e.message;
  }
  const arch = metaString(meta, "general.architecture") ?? null;
  const key = (k: string) => `${arch}.${k}`;
  const types: Record<string, GgufTypeUse> = {};
  let parameters = 0;
  for (const t of g.tensors) {
    const use = (types[t.type.name] ??= { tensors: 0, parameters: 0, bytes: 0 });
    use.tensors++;
    use.parameters += elements(t);
    use.bytes += t.end - t.begin;
    parameters += elements(t);
  }
  const ft = metaNumber(meta, "general.file_type");
  const tokens = meta.get("tokenizer.ggml.tokens");
  const report: GgufReport = {
    format: "gguf",
    name: metaString(meta, "general.name") ?? basename(g.file),
    file: g.file,
    bytes: g.fileSize,
    version: g.version,
    architecture: arch,
    layers: layout?.layers ?? null,
    parameters,
    fileType: ft === undefined ? null : (GGMLFileQuantizationType[ft] ?? String(ft)),
    types,
    tokenizer:
      tokens || meta.has("tokenizer.ggml.model")
        ? {
            model: metaString(meta, "tokenizer.ggml.model") ?? null,
            pre: metaString(meta, "tokenizer.ggml.pre") ?? null,
            vocabSize: Array.isArray(tokens?.value) ? tokens.value.length : 0,
            bos: metaNumber(meta, "tokenizer.ggml.bos_token_id") ?? null,
            eos: metaNumber(meta, "tokenizer.ggml.eos_token_id") ?? null,
          }
        : null,
    contextLength: metaNumber(meta, key("context_length")) ?? null,
    embeddingLength: metaNumber(meta, key("embedding_length")) ?? null,
    feedForwardLength: numberOrArray(meta, key("feed_forward_length")),
    heads: numberOrArray(meta, key("attention.head_count")),
    kvHeads: numberOrArray(meta, key("attention.head_count_kv")),
    metadata: [...meta].map(([k, v]) => ({ key: k, value: describeValue(v) })),
    head: [],
    layerGroups: [],
    tail: [],
    layoutProblem,
  };
  if (!layout) {
    report.head = g.tensors.map((t) => info(t.name, t));
    return report;
  }
  report.head = layout.head.map((t) => info(t.name, t));
  report.tail = layout.tail.map((t) => info(t.name, t));
  let sig = "";
  layout.layerTensors.forEach((m, i) => {
    const tensors = [...m].map(([rel, t]) => info(rel, t));
    const s = JSON.stringify(tensors);
    const last = report.layerGroups[report.layerGroups.length - 1];
    if (last && s === sig) last.last = i;
    else report.layerGroups.push({ first: i, last: i, tensors });
    sig = s;
  });
  return report;
}
