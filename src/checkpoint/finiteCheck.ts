// A weight of Inf or NaN makes a model that loads and then answers NaN for every token; a merge
// with weights of 1e308, a scale past the dtype's range or a conversion to F16 of values above
// 65504 writes such weights without any error of its own. The writers that compute values check
// them here as they stream: the bytes of each chunk, before they reach the file.
import { NonFiniteError } from "../errors.js";
import type { DType } from "./dtype.js";
import type { ByteSink, OutputTensor } from "./tensorStream.js";

/**
 * How a float dtype's bits say "not finite": the exponent field all ones. For each format, the bits
 * of that field in one 32-bit little-endian word (two 16-bit elements, one F32, or the high half of
 * an F64) and the lowest of them: (word & field) + lowest carries into the bit above the field, the
 * sign bit, exactly when the field is all ones, so one OR over the words finds any.
 */
interface Layout {
  bytes: number;
  field: number;
  lowest: number;
  carry: number;
  /** Words per element (F64: 2, its high word second), or elements per word (16-bit: 2). */
  wordsPerElement: number;
  elementsPerWord: number;
}

const LAYOUTS: ReadonlyMap<DType, Layout> = new Map<DType, Layout>([
  [
    "BF16",
    {
      bytes: 2,
      field: 0x7f807f80,
      lowest: 0x00800080,
      carry: 0x80008000 | 0,
      wordsPerElement: 1,
      elementsPerWord: 2,
    },
  ],
  [
    "F16",
    {
      bytes: 2,
      field: 0x7c007c00,
      lowest: 0x04000400,
      carry: 0x80008000 | 0,
      wordsPerElement: 1,
      elementsPerWord: 2,
    },
  ],
  [
    "F32",
    {
      bytes: 4,
      field: 0x7f800000,
      lowest: 0x00800000,
      carry: 0x80000000 | 0,
      wordsPerElement: 1,
      elementsPerWord: 1,
    },
  ],
  [
    "F64",
    {
      bytes: 8,
      field: 0x7ff00000,
      lowest: 0x00100000,
      carry: 0x80000000 | 0,
      wordsPerElement: 2,
      elementsPerWord: 1,
    },
  ],
]);

/** Words scanned between checks of the accumulated bits: small enough to stop early, large enough to cost nothing. */
const BLOCK_WORDS = 4096;

/** Whether `dtype` can hold Inf or NaN (the float formats deepen writes); integer tensors never do. */
export function canBeNonFinite(dtype: DType): boolean {
  return LAYOUTS.has(dtype);
}

/** Element `i` of `bytes` (whole elements of `dtype`, a float format) as a number. */
function elementValue(dtype: DType, bytes: Uint8Array, i: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F64":
      return view.getFloat64(i * 8, true);
    case "F32":
      return view.getFloat32(i * 4, true);
    case "BF16":
      return new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0]!;
    default: {
      const h = view.getUint16(i * 2, true);
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const mantissa = h & 0x3ff;
      if (exp === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
      return sign * (exp === 0 ? mantissa * 2 ** -24 : (1 + mantissa / 1024) * 2 ** (exp - 15));
    }
  }
}

/**
 * The index of the first element of `bytes` that is Inf or NaN, or -1. `bytes` holds whole elements
 * of `dtype` (one of the float formats) and starts on a 4-byte boundary.
 */
export function firstNonFinite(dtype: DType, bytes: Uint8Array): number {
  const l = LAYOUTS.get(dtype);
  if (!l) return -1;
  const count = bytes.byteLength / l.bytes;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  const isBad = (w: number) => (((w & l.field) + l.lowest) & l.carry) !== 0;
  const step = l.wordsPerElement; // F64: only the high word of each element holds the exponent
  for (let start = step - 1; start < words.length; start += BLOCK_WORDS * step) {
    const end = Math.min(start + BLOCK_WORDS * step, words.length);
    let acc = 0;
    for (let i = start; i < end; i += step) acc |= (words[i]! & l.field) + l.lowest;
    if ((acc & l.carry) === 0) continue;
    for (let i = start; i < end; i += step) {
      if (!isBad(words[i]!)) continue;
      if (l.elementsPerWord === 1) return (i - (step - 1)) / step;
      const first = 2 * i;
      return Number.isFinite(elementValue(dtype, bytes, first)) ? first + 1 : first;
    }
  }
  // An odd count of 16-bit elements leaves one past the last whole word.
  if (l.elementsPerWord === 2 && count % 2 === 1 && !Number.isFinite(elementValue(dtype, bytes, count - 1)))
    return count - 1;
  return -1;
}

/**
 * `t`, refusing to write it if any of its values is Inf or NaN: the chunk holding one is not passed
 * on, and the error names the tensor and the element. `why` says what could have made it, for the
 * message. Tensors of integer dtypes are returned as they are.
 */
export function finiteOnly(t: OutputTensor, why: string): OutputTensor {
  const layout = LAYOUTS.get(t.dtype);
  if (!layout) return t;
  const size = layout.bytes;
  return {
    ...t,
    write: (sink, io) => {
      let seen = 0; // elements checked so far
      let carry = new Uint8Array(0); // bytes of an element split between two writes
      const checked: ByteSink = {
        write: async (bytes) => {
          let whole = bytes;
          if (carry.byteLength > 0 || bytes.byteOffset % 4 !== 0 || bytes.byteLength % size !== 0) {
            // Not how deepen's writers hand over chunks (whole elements, aligned), but handled: an
            // element split between two chunks is checked with the second.
            const joined = new Uint8Array(carry.byteLength + bytes.byteLength);
            joined.set(carry);
            joined.set(bytes, carry.byteLength);
            const cut = joined.byteLength - (joined.byteLength % size);
            whole = joined.subarray(0, cut);
            carry = joined.slice(cut);
          }
          const bad = firstNonFinite(t.dtype, whole);
          if (bad >= 0)
            throw new NonFiniteError(t.name, seen + bad, elementValue(t.dtype, whole, bad), t.dtype, why);
          seen += whole.byteLength / size;
          await sink.write(bytes);
        },
      };
      return t.write(checked, io);
    },
  };
}
