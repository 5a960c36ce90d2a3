import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeFloats, encodeFloats, parseDType } from "../../src/checkpoint/dtype.js";

function roundTrip(d: "BF16" | "F16", values: number[]): number[] {
  const bytes = new Uint8Array(values.length * 2);
  encodeFloats(d, Float32Array.from(values), bytes);
  const out = new Float32Array(values.length);
  decodeFloats(d, bytes, out);
  return [...out];
}

function bits(d: "BF16" | "F16", v: number): number {
  const bytes = new Uint8Array(2);
  encodeFloats(d, Float32Array.of(v), bytes);
  return bytes[0]! | (bytes[1]! << 8);
}

test("bf16 keeps exactly representable values and rounds to nearest even", () => {
  assert.deepEqual(roundTrip("BF16", [0, 1, -2, 0.5, 3.140625, 65280]), [0, 1, -2, 0.5, 3.140625, 65280]);
  assert.equal(bits("BF16", 1), 0x3f80);
  // 1 + 2^-8 lies halfway between bf16 1 and 1 + 2^-7: ties go to the even mantissa (1).
  assert.equal(bits("BF16", 1 + 2 ** -8), 0x3f80);
  // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
  assert.equal(bits("BF16", 1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(roundTrip("BF16", [NaN])[0]));
  assert.deepEqual(roundTrip("BF16", [Infinity, -Infinity]), [Infinity, -Infinity]);
});

test("f16 round trips normals, subnormals, overflow and NaN", () => {
  assert.deepEqual(roundTrip("F16", [0, 1, -2, 0.5, 65504, 2 ** -24, 2 ** -14]), [
    0,
    1,
    -2,
    0.5,
    65504,
    2 ** -24,
    2 ** -14,
  ]);
  assert.equal(bits("F16", 1), 0x3c00);
  assert.equal(bits("F16", 65520), 0x7c00); // rounds past the largest finite half: infinity
  assert.equal(bits("F16", 2 ** -26), 0); // below half the smallest subnormal: zero
  assert.equal(bits("F16", 1 + 2 ** -11), 0x3c00); // tie to even
  assert.equal(bits("F16", 1 + 3 * 2 ** -11), 0x3c02);
  assert.ok(Number.isNaN(roundTrip("F16", [NaN])[0]));
});

test("parseDType takes the names users type and rejects others", () => {
  assert.equal(parseDType("bf16"), "BF16");
  assert.equal(parseDType("torch.float16"), "F16");
  assert.equal(parseDType("FP32"), "F32");
  assert.throws(() => parseDType("int4"), /--dtype int4: expected one of bf16, f16, f32/);
  // Names of the object prototype are unknown names, not a function taken for a dtype.
  for (const name of ["constructor", "__proto__", "hasOwnProperty", "toString"])
    assert.throws(() => parseDType(name, "dtype"), new RegExp(`^UsageError: dtype ${name}: expected one of`));
});
