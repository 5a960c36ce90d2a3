// One HF tensor as a GGUF tensor: renamed, its dims innermost first, transformed where llama.cpp's
// graph expects other values (q/k row order, Gemma's norm + 1), encoded in the output type, and
// streamed a band of rows at a time so memory stays bounded whatever the tensor's size.
import { GGMLQuantizationType } from "@huggingface/gguf";
import { DTYPE_BYTES, encodeFloats, type DType } from "../checkpoint/dtype.js";
import { GGML_TYPES, type GgmlType } from "../checkpoint/gguf/ggmlTypes.js";
import { quantizeQ8_0, Q8_0_BLOCK, Q8_0_BLOCK_BYTES } from "../checkpoint/gguf/quantizeQ8_0.js";
import type { GgufOutputTensor } from "../checkpoint/gguf/writeGguf.js";
import type { TensorEntry } from "../checkpoint/safetensorsHeader.js";
import {
  CHUNK_BYTES,
  ELEMENT_CHUNK,
  pipeRange,
  readByteRange,
  readFloatRange,
} from "../checkpoint/tensorStream.js";

export type GgufOutType = "F32" | "F16" | "BF16" | "Q8_0";

export const ggmlType = (t: GgufOutType): GgmlType => GGML_TYPES.get(GGMLQuantizationType[t])!;

export interface TensorTransform {
  /** Rows come in heads of this many rows, reordered from rotate-half to adjacent pairs. */
  permuteHeadRows?: number;
  /** Add 1 to every value (Gemma norms). */
  plusOne?: boolean;
}

/** Row r of a head in llama.cpp's order holds HF row (r % 2)·(d/2) + ⌊r/2⌋: the halves interleaved. */
function permuteRows<A extends Float32Array | Uint8Array>(
  src: A,
  dst: A,
  rows: number,
  cols: number,
  headRows: number,
): void {
  const half = headRows / 2;
  for (let h = 0; h < rows; h += headRows) {
    for (let r = 0; r < headRows; r++) {
      const from = (h + (r % 2) * half + Math.floor(r / 2)) * cols;
      dst.set(src.subarray(from, from + cols), (h + r) * cols);
    }
  }
}

/** The bytes `type` takes for `count` values. */
const encodedBytes = (type: GgufOutType, count: number) =>
  type === "Q8_0" ? (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES : count * DTYPE_BYTES[type as DType];

export function ggufTensorFrom(
  name: string,
  entry: TensorEntry,
  type: GgufOutType,
  transform: TensorTransform = {},
): GgufOutputTensor {
  const shape = entry.shape;
  const total = shape.reduce((a, b) => a * b, 1);
  // A vector (norm, bias) is a column: its elements are the rows a q/k reorder moves.
  const cols = shape.length === 1 ? 1 : shape[shape.length - 1]!;
  const rows = total / cols;
  const unit = transform.permuteHeadRows ?? 1;
  // Whole heads per band, and at least one row.
  const bandRows = Math.max(unit, Math.floor(ELEMENT_CHUNK / cols / unit) * unit);
  return {
    name,
    type: ggmlType(type),
    dims: [...shape].reverse(),
    byteLength: encodedBytes(type, total),
    async write(sink, io) {
      // Same type and no arithmetic: the bytes move as they are (rows reordered for q/k).
      if (type === entry.dtype && !transform.plusOne) {
        // Most tensors: a straight copy, read ahead while the previous chunk is written.
        if (!transform.permuteHeadRows) return pipeRange(io, entry, CHUNK_BYTES, (c) => sink.write(c));
        const size = DTYPE_BYTES[type as DType];
        for (let r0 = 0; r0 < rows; r0 += bandRows) {
          const n = Math.min(bandRows, rows - r0);
          let bytes = await readByteRange(io, entry, r0 * cols, n * cols, 0);
          if (transform.permuteHeadRows) {
            const dst = io.byteSlot(1, bytes.byteLength);
            permuteRows(bytes, dst, n, cols * size, transform.permuteHeadRows);
            bytes = dst;
          }
          await sink.write(bytes);
        }
        return;
      }
      for (let r0 = 0; r0 < rows; r0 += bandRows) {
        const n = Math.min(bandRows, rows - r0);
        let vals = await readFloatRange(io, entry, r0 * cols, n * cols, 0);
        if (transform.permuteHeadRows) {
          const dst = io.floats(1, n * cols);
          permuteRows(vals, dst, n, cols, transform.permuteHeadRows);
          vals = dst;
        }
        if (transform.plusOne) for (let i = 0; i < vals.length; i++) vals[i]! += 1;
        const bytes = io.byteSlot(2, encodedBytes(type, vals.length));
        if (type === "Q8_0") quantizeQ8_0(vals, bytes);
        else encodeFloats(type, vals, bytes);
        await sink.write(bytes);
      }
    },
  };
}

/** A small computed F32 tensor (llama.cpp's rope_freqs). */
export function ggufF32Tensor(name: string, values: Float32Array): GgufOutputTensor {
  return {
    name,
    type: ggmlType("F32"),
    dims: [values.length],
    byteLength: values.byteLength,
    async write(sink) {
      await sink.write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    },
  };
}
