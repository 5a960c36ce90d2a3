import {
  type GgufLayout,
  GGUF_LAYER_PREFIX,
  GGUF_RESIDUAL_WRITERS,
  hfLayerName,
} from "../arch/ggufLayout.js";
import type { DType } from "../checkpoint/dtype.js";
import { finiteOnly } from "../checkpoint/finiteCheck.js";
import type { GgufTensor } from "../checkpoint/gguf/readGguf.js";
import type { GgufOutputTensor } from "../checkpoint/gguf/writeGguf.js";
import { CHUNK_BYTES, pipeRange, tensorFrom, writeZeros } from "../checkpoint/tensorStream.js";
import { UsageError } from "../errors.js";
import { type LayerPlan, scaleFor } from "./layerPlan.js";

/** The GGUF float types a scale can be applied to without dequantizing (deepen's own float codecs). */
const SCALABLE: ReadonlySet<string> = new Set<DType>(["F32", "F16", "BF16"]);

/** Tensor `t` under the name `name`, its bytes streamed from its file unchanged (quantized blocks too). */
export function copiedTensor(name: string, t: GgufTensor): GgufOutputTensor {
  return {
    name,
    type: t.type,
    dims: t.dims,
    byteLength: t.end - t.begin,
    write: (sink, io) => pipeRange(io, t, CHUNK_BYTES, (c) => sink.write(c)),
  };
}

/**
 * A tensor shaped and typed like `t` whose bytes are all zero: zero in every ggml type (see
 * the note on zero blocks in ggmlTypes.ts), so no block is built.
 */
export function zeroTensor(name: string, t: GgufTensor): GgufOutputTensor {
  const byteLength = t.end - t.begin;
  return {
    name,
    type: t.type,
    dims: t.dims,
    byteLength,
    write: (sink, io) => writeZeros(sink, io, byteLength),
  };
}

const NON_FINITE_WHY = "the scale leaves the type's range, or the input holds Inf or NaN";

/**
 * `t` times `scale`. 1 copies, 0 writes zeros (whatever the type); F32, F16 and BF16 are scaled as
 * they stream (and checked for Inf and NaN unless allowed); a quantized tensor is refused, since
 * scaling its values would mean dequantizing and quantizing again, which loses precision.
 */
function scaledTensor(name: string, t: GgufTensor, scale: number, allowNonFinite: boolean): GgufOutputTensor {
  if (scale === 1) return copiedTensor(name, t);
  if (scale === 0) return zeroTensor(name, t);
  if (!SCALABLE.has(t.type.name)) {
    throw new UsageError(
      `tensor ${name} (from ${t.name} of ${t.file}) is ${t.type.name}: a scale of ${scale} cannot be applied to ` +
        "quantized blocks without dequantizing them (only 0 and 1 can); scale the model before quantizing it",
    );
  }
  const dtype = t.type.name as DType;
  const scaled = tensorFrom(
    name,
    { name: t.name, dtype, shape: t.dims, begin: t.begin, end: t.end, file: t.file },
    { scale },
  );
  const out = allowNonFinite ? scaled : finiteOnly(scaled, NON_FINITE_WHY);
  return { name, type: t.type, dims: t.dims, byteLength: out.byteLength, write: out.write };
}

/**
 * Every tensor of a GGUF plan's output, in file order: the head model's tensors before its layers,
 * layers 0…L−1 (each layer's tensors in its source's file order, renamed blk.j.*), then the tail
 * model's tensors after its layers. Identity layers get zero residual writers.
 */
export function ggufPlanTensors(
  plan: LayerPlan<GgufLayout>,
  check: { allowNonFinite?: boolean } = {},
): GgufOutputTensor[] {
  const out: GgufOutputTensor[] = plan.models[plan.headFrom]!.head.map((t) => copiedTensor(t.name, t));
  plan.layers.forEach((src, j) => {
    const layout = plan.models[src.model]!;
    for (const [rel, t] of layout.layerTensors[src.layer]!) {
      const name = `${GGUF_LAYER_PREFIX}${j}.${rel}`;
      if (src.identity && GGUF_RESIDUAL_WRITERS.test(rel)) out.push(zeroTensor(name, t));
      else
        out.push(
          scaledTensor(
            name,
            t,
            scaleFor(src, name, hfLayerName(layout.architecture, j, rel)),
            !!check.allowNonFinite,
          ),
        );
    }
  });
  out.push(...plan.models[plan.tailFrom]!.tail.map((t) => copiedTensor(t.name, t)));
  return out;
}
