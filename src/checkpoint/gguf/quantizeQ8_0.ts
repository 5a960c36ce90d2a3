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
  const scale = new Float32Array(1);
  const half = new Uint8Array(2);
  const codes = new Int8Array(out.buffer, out.byteOffset, out.byteLength);
  for (let b = 0; b < blocks; b++) {
    const x = src.subarray(b * Q8_0_BLOCK, (b + 1) * Q8_0_BLOCK);
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(x[i]!));
    // ggml computes d and its inverse in float32, then stores d as f16.
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    scale[0] = d;
    encodeFloats("F16", scale, half);
    const at = b * Q8_0_BLOCK_BYTES;
    out[at] = half[0]!;
    out[at + 1] = half[1]!;
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const v = Math.fround(x[i]! * id);
      codes[at + 2 + i] = Math.sign(v) * Math.round(Math.abs(v));
    }
  }
}
