import { endianness } from "node:os";
import { UsageError } from "../errors.js";

// safetensors dtype names and their element sizes (the format's own table).
export const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

export type DType = keyof typeof DTYPE_BYTES;

/** The float dtypes deepen converts between; everything else is copied as it is. */
export const CONVERTIBLE: readonly DType[] = ["F32", "F16", "BF16"];

// safetensors stores little-endian; typed-array views below read the host's order.
if (endianness() !== "LE") throw new Error("deepen needs a little-endian host to read safetensors");

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Accepts the names users type (bf16, float16, fp32, torch.bfloat16) and the safetensors names. */
export function parseDType(s: string, option = "--dtype"): DType {
  const key = s.toLowerCase().replace(/^torch\./, "");
  const names: Record<string, DType> = {
    bf16: "BF16",
    bfloat16: "BF16",
    f16: "F16",
    fp16: "F16",
    float16: "F16",
    half: "F16",
    f32: "F32",
    fp32: "F32",
    float32: "F32",
    float: "F32",
  };
  const d = Object.hasOwn(names, key) ? names[key] : undefined; // not constructor, __proto__…
  if (!d) throw new UsageError(`${option} ${s}: expected one of bf16, f16, f32`);
  return d;
}

/** The config.json spelling (torch_dtype) of a float dtype. */
export function torchName(d: DType): string {
  return { F32: "float32", F16: "float16", BF16: "bfloat16" }[d as "F32"] ?? d.toLowerCase();
}

// One decode table for each 16-bit float format: 65536 entries, built once, turn conversion into
// a lookup instead of bit fiddling per element.
let f16Table: Float32Array | undefined;
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 31) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is correct
  return sign | half;
}

/** Decodes `bytes` (whole elements of dtype `d`, F32/F16/BF16) into `out`. */
export function decodeFloats(d: DType, bytes: Uint8Array, out: Float32Array): void {
  const n = bytes.byteLength / DTYPE_BYTES[d];
  if (d === "F32") {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
  } else if (d === "BF16") {
    const src = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    const dst = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
  } else if (d === "F16") {
    const src = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    const t = f16ToF32Table();
    for (let i = 0; i < n; i++) out[i] = t[src[i]!]!;
  } else {
    throw new UsageError(`cannot convert ${d} tensors: only F32, F16 and BF16 are converted`);
  }
}

/** Encodes `src` into `bytes` as dtype `d` (F32/F16/BF16), rounding to nearest even. */
export function encodeFloats(d: DType, src: Float32Array, bytes: Uint8Array): void {
  const n = src.length;
  if (d === "F32") {
    new Float32Array(bytes.buffer, bytes.byteOffset, n).set(src);
    return;
  }
  const bits = new Uint32Array(src.buffer, src.byteOffset, n);
  const dst = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  if (d === "BF16") {
    // f32BitsToBf16, inlined: this loop runs over every element a merge or conversion writes.
    for (let i = 0; i < n; i++) {
      const x = bits[i]!;
      dst[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  } else if (d === "F16") for (let i = 0; i < n; i++) dst[i] = f32BitsToF16(bits[i]!);
  else throw new UsageError(`cannot convert to ${d}: only F32, F16 and BF16 are written`);
}
