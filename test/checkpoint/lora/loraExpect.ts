// What a merged tensor must hold, computed independently in float64: W + s·B·A (or its transpose).
import assert from "node:assert/strict";
import { DTYPE_BYTES, decodeFloats } from "../../../src/checkpoint/dtype.js";
import type { TensorEntry } from "../../../src/checkpoint/safetensorsHeader.js";
import type { AdapterTensor } from "../../fixtures/loraAdapter.js";

export const floats = (t: { entry: TensorEntry; bytes: Buffer }): Float32Array => {
  const out = new Float32Array(t.bytes.length / DTYPE_BYTES[t.entry.dtype]);
  decodeFloats(t.entry.dtype, new Uint8Array(t.bytes), out);
  return out;
};

/** W + s·(B·A) in float64, [out, in], or [in, out] when `transposed`. */
export function expected(
  w: Float32Array,
  [a, b]: AdapterTensor[],
  scale: number,
  transposed = false,
): Float64Array {
  const [r, inF] = a!.shape as [number, number];
  const outF = b!.shape[0]!;
  const ref = Float64Array.from(w);
  for (let o = 0; o < outF; o++)
    for (let i = 0; i < inF; i++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += b!.values[o * r + k]! * a!.values[k * inF + i]!;
      ref[transposed ? i * outF + o : o * inF + i]! += scale * sum;
    }
  return ref;
}

/** Every element within `rel` of the reference, relative to its size. */
export function assertClose(got: Float32Array, ref: Float64Array, rel: number, what: string): void {
  assert.equal(got.length, ref.length, what);
  let changed = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    if (err > rel * Math.abs(ref[i]!) + 1e-30)
      assert.fail(`${what}[${i}]: ${got[i]} vs ${ref[i]} (relative error ${err / Math.abs(ref[i]!)})`);
    if (got[i] !== 0) changed++;
  }
  assert.ok(changed > 0, what);
}
