import { statSync } from "node:fs";
import { basename } from "node:path";
import { type LayerLayout, layerLayout } from "../arch/layerLayout.js";
import { ArchitectureError } from "../errors.js";
import { openModelFolder } from "../checkpoint/modelFolder.js";
import { numel, type TensorEntry } from "../checkpoint/safetensorsHeader.js";
import { type Lineage, readLineage } from "../checkpoint/lineage.js";

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

export interface ModelReport {
  name: string;
  dir: string;
  architecture: string | null;
  family: string | null;
  layers: number | null;
  parameters: number;
  /** Parameters per dtype. */
  dtypes: Record<string, number>;
  shards: { file: string; bytes: number; tensors: number }[];
  head: TensorInfo[];
  /** Runs of consecutive layers whose tensors agree in name, dtype and shape. */
  layerGroups: { first: number; last: number; tensors: TensorInfo[] }[];
  tail: TensorInfo[];
  lineage: Lineage | null;
}

const info = (name: string, e: TensorEntry): TensorInfo => ({ name, dtype: e.dtype, shape: e.shape });

/** `deepen inspect`: what a model folder holds, from its headers alone. */
export async function inspectModel(path: string): Promise<ModelReport> {
  const model = await openModelFolder(path);
  let layout: LayerLayout | undefined;
  try {
    layout = layerLayout(model);
  } catch (e) {
    if (!(e instanceof ArchitectureError)) throw e;
  }
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  const perShard = new Map<string, number>();
  for (const e of model.tensors.values()) {
    const n = numel(e.shape);
    parameters += n;
    dtypes[e.dtype] = (dtypes[e.dtype] ?? 0) + n;
    perShard.set(e.file, (perShard.get(e.file) ?? 0) + 1);
  }
  const shards = model.shards.map((f) => ({
    file: basename(f),
    bytes: statSync(f).size,
    tensors: perShard.get(f) ?? 0,
  }));
  const archs = model.config.architectures;
  const report: ModelReport = {
    name: model.name,
    dir: model.dir,
    architecture: Array.isArray(archs) && archs.length ? String(archs[0]) : null,
    family: layout?.family.family ?? null,
    layers: layout?.layers ?? null,
    parameters,
    dtypes,
    shards,
    head: [],
    layerGroups: [],
    tail: [],
    lineage: (await readLineage(model.dir)) ?? null,
  };
  if (!layout) {
    report.head = [...model.tensors.values()]
      .map((e) => info(e.name, e))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return report;
  }
  report.head = layout.head.map((e) => info(e.name, e));
  report.tail = layout.tail.map((e) => info(e.name, e));
  let sig = "";
  for (let i = 0; i < layout.layers; i++) {
    const tensors = [...layout.layerTensors[i]!].map(([rel, e]) => info(rel, e));
    const s = JSON.stringify(tensors);
    const last = report.layerGroups[report.layerGroups.length - 1];
    if (last && s === sig) last.last = i;
    else report.layerGroups.push({ first: i, last: i, tensors });
    sig = s;
  }
  return report;
}
