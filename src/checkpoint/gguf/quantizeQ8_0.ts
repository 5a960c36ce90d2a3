// Q8_0 as ggml's reference quantize_row_q8_0 writes it: blocks of 32 values along a row, each an
// f16 scale d = max|x| / 127 followed by 32 int8 codes round(x / d), rounding halves away from zero
// (C's roundf). A block of zeros has d = 0 and codes 0. Same bytes as llama.cpp's converter.
import { encodeFloats } from "../dtype.js";

/** Values per Q8_0 block (ggml's QK8_0). */
export const Q8_0_BLOCK = 32;
/** Bytes per block: the f16 scale and 32 codes. */
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

/** Quantizes `src` (a whole number of blocks) into `out` (src.length / 32 × 34 bytes). */
export function quantizeQ8_0(src: Float32Array, out: Uint8Array): void {
  const blocks = src.length / Q8_0_BLOCK;
  if (!Number.isInteger(blocks) || out.byteLength !== blocks * Q8_0_BLOCK_BYTES) {
    throw new Error(`internal: Q8_0 of ${src.length} values into ${out.byteLength} bytes`);
  }
  // The scales of all blocks first (converted to f16 in one call), then the codes: two small
  // loops over plain arrays, no per-block views or calls, which V8 compiles to tight code.
  const scales = new Float32Array(blocks);
  const inverse = new Float32Array(blocks);
  blockScales(src, scales, inverse);
  const halves = new Uint8Array(blocks * 2);
  encodeFloats("F16", scales, halves);
  blockCodes(src, inverse, halves, out);
}

function blockScales(src: Float32Array, scales: Float32Array, inverse: Float32Array): void {
  for (let b = 0, at = 0; b < scales.length; b++, at += Q8_0_BLOCK) {
    let amax = 0;
    for (let i = at; i < at + Q8_0_BLOCK; i++) {
      const a = Math.abs(src[i]!); // branch-free: signs are random in real weights
      if (a > amax) amax = a;
    }
    // ggml computes d and its inverse in float32, then stores d as f16.
    const d = Math.fround(amax / 127);
    scales[b] = d;
    inverse[b] = d !== 0 ? Math.fround(1 / d) : 0;
  }
}

function blockCodes(src: Float32Array, inverse: Float32Array, halves: Uint8Array, out: Uint8Array): void {
  const codes = new Int8Array(out.buffer, out.byteOffset, out.byteLength);
  for (let b = 0, at = 0, o = 0; b < inverse.length; b++, at += Q8_0_BLOCK, o += Q8_0_BLOCK_BYTES) {
    out[o] = halves[2 * b]!;
    out[o + 1] = halves[2 * b + 1]!;
    const id = inverse[b]!;
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const v = Math.fround(src[at + i]! * id);
      // C's roundf, halves away from zero: add ±0.5 (exact in float64) and truncate. Written
      // without a branch on the sign, which is random in real weights (measured 2x faster).
      codes[o + 2 + i] = Math.trunc(v + 0.5 * Math.sign(v));
    }
  }
}
