import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeFloats } from "../../../src/checkpoint/dtype.js";
import { quantizeQ8_0, Q8_0_BLOCK_BYTES } from "../../../src/checkpoint/gguf/quantizeQ8_0.js";

function dequantize(bytes: Uint8Array): Float32Array {
  const blocks = bytes.byteLength / Q8_0_BLOCK_BYTES;
  const out = new Float32Array(blocks * 32);
  const d = new Float32Array(1);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q8_0_BLOCK_BYTES;
    decodeFloats("F16", bytes.slice(at, at + 2), d);
    const q = new Int8Array(bytes.buffer, bytes.byteOffset + at + 2, 32);
    for (let i = 0; i < 32; i++) out[b * 32 + i] = d[0]! * q[i]!;
  }
  return out;
}

test("Q8_0 blocks hold d = max|x|/127 as f16 and codes rounded half away from zero", () => {
  const x = new Float32Array(64);
  x[0] = 127; // d = 1 exactly
  x[1] = 2.5; // a half: away from zero
  x[2] = -2.5;
  x[3] = -127;
  x[4] = 0.49;
  // Second block all zeros: d = 0, codes 0.
  const out = new Uint8Array(2 * Q8_0_BLOCK_BYTES);
  quantizeQ8_0(x, out);
  assert.deepEqual([...out.subarray(0, 2)], [0x00, 0x3c]); // f16 1.0
  const q = new Int8Array(out.buffer, 2, 32);
  assert.deepEqual([...q.subarray(0, 5)], [127, 3, -3, -127, 0]);
  assert.ok(out.subarray(Q8_0_BLOCK_BYTES).every((b) => b === 0));
});

test("Q8_0 round trip errs by at most half a step per value, plus the f16 rounding of the step", () => {
  const x = Float32Array.from({ length: 32 * 50 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 7)));
  const out = new Uint8Array(50 * Q8_0_BLOCK_BYTES);
  quantizeQ8_0(x, out);
  const y = dequantize(out);
  for (let b = 0; b < 50; b++) {
    const block = x.subarray(b * 32, b * 32 + 32);
    const step = Math.max(...block.map(Math.abs)) / 127;
    // d is stored as f16: off by up to 2^-11 of itself, times a code of up to 127.
    for (let i = 0; i < 32; i++)
      assert.ok(Math.abs(y[b * 32 + i]! - block[i]!) <= step * (0.5 + 127 * 2 ** -11));
  }
});
