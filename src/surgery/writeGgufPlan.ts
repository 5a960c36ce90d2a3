import type { GgufLayout } from "../arch/ggufLayout.js";
import { checkFileTarget, withAtomicFile, type AtomicFileOptions } from "../checkpoint/atomicOutput.js";
import { looksLikeGguf } from "../checkpoint/gguf/readGguf.js";
import { type GgufOutputTensor, writeGguf } from "../checkpoint/gguf/writeGguf.js";
import { GGUF_LINEAGE_KEY, type Lineage, parseLineage } from "../checkpoint/lineage.js";
import { lineageOf } from "./planLineage.js";
import { type GgufMetadata, ggufString, metaString } from "../checkpoint/gguf/ggufMetadata.js";
import { ggufPlanMetadata } from "./ggufPlanMetadata.js";
import { ggufPlanTensors } from "./ggufPlanTensors.js";
import type { LayerPlan } from "./layerPlan.js";
import type { WritePlanOptions } from "./writePlan.js";

export interface GgufPlanSummary {
  layers: number;
  parameters: number;
  /** Bytes of tensor data (the file adds its header and alignment padding). */
  bytes: number;
  tensors: GgufOutputTensor[];
  metadata: GgufMetadata;
  warnings: string[];
  /** The same record a model folder keeps in deepen.json; the file keeps it under deepen.lineage. */
  lineage: Lineage;
}

const elements = (t: GgufOutputTensor) => t.dims.reduce((a, b) => a * b, 1);

/** What a GGUF plan will write, computed without writing anything (what --dry-run shows). */
export function summarizeGgufPlan(
  plan: LayerPlan<GgufLayout>,
  check: { allowNonFinite?: boolean } = {},
): GgufPlanSummary {
  const tensors = ggufPlanTensors(plan, check);
  const parameters = tensors.reduce((a, t) => a + elements(t), 0);
  const parents = plan.models.flatMap((l) => {
    const text = metaString(l.gguf.metadata, GGUF_LINEAGE_KEY);
    return text === undefined ? [] : [parseLineage(`${l.path} (${GGUF_LINEAGE_KEY})`, text)];
  });
  const sources = plan.models.map((l) => ({
    name: l.name,
    path: l.path,
    architecture: l.architecture,
    layers: l.layers,
  }));
  const lineage = lineageOf(plan, sources, parameters, parents);
  // The file keeps its own lineage, as a folder keeps deepen.json.
  const metadata = ggufPlanMetadata(plan);
  metadata.set(GGUF_LINEAGE_KEY, ggufString(JSON.stringify(lineage)));
  return {
    layers: plan.layers.length,
    parameters,
    bytes: tensors.reduce((a, t) => a + t.byteLength, 0),
    tensors,
    metadata,
    warnings: [...(plan.warnings ?? [])],
    lineage,
  };
}

/** How a GGUF output is protected: --force replaces only a GGUF file, never the plan's inputs. */
export function ggufTargetOptions(inputs: readonly string[], force?: boolean): AtomicFileOptions {
  return { force, inputs, replaceable: { kind: "GGUF file", test: looksLikeGguf } };
}

export const checkGgufTarget = (out: string, inputs: readonly string[], force?: boolean) =>
  checkFileTarget(out, ggufTargetOptions(inputs, force));

/** Executes a GGUF layer plan into the single file `out`, atomically (a temporary name, then a rename). */
export async function writeGgufPlan(
  plan: LayerPlan<GgufLayout>,
  out: string,
  opts: WritePlanOptions = {},
): Promise<GgufPlanSummary & { fileBytes: number }> {
  const summary = summarizeGgufPlan(plan, opts);
  const base = plan.models[plan.configFrom]!;
  const inputs = plan.models.map((l) => l.path);
  let done = 0;
  const fileBytes = await withAtomicFile(out, ggufTargetOptions(inputs, opts.force), async (tmp) => {
    opts.onStart?.(summary.bytes);
    return writeGguf(tmp, summary.metadata, summary.tensors, {
      alignment: base.gguf.alignment,
      onBytes: (n) => opts.onProgress?.((done += n)),
    });
  });
  return { ...summary, fileBytes };
}
