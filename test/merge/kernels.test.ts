import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeFloats, encodeFloats } from "../../src/checkpoint/dtype.js";
import { Kernels } from "../../src/merge/kernels/kernels.js";
import { sleb, uleb } from "../../src/merge/kernels/wasm.js";
import { METHODS } from "../../src/merge/methods/registry.js";
import { mulberry32 } from "../../src/random.js";

const kernels = Kernels.create();

test("LEB128 encodings", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(0), [0]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb(0x7fffffff), [0xff, 0xff, 0xff, 0xff, 0x07]);
});

test("this Node runs WebAssembly SIMD (the merge kernels need it to be fast, not to be right)", () => {
  assert.ok(kernels, "no WebAssembly SIMD: merges fall back to JavaScript loops");
});

/** Float32 values with every kind of special: ±0, ±∞, NaN, subnormals, huge and tiny exponents. */
function awkward(n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const specials = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-45, 3.4e38, -3.4e38, 1, -1];
  return Float32Array.from({ length: n }, () =>
    rnd() < 0.1
      ? specials[Math.floor(rnd() * specials.length)]!
      : (rnd() - 0.5) * 2 ** (Math.floor(rnd() * 60) - 30),
  );
}

/** Equal float32 arrays, every NaN counted equal to every NaN (their payload bits may differ). */
function sameValues(a: Float32Array, b: Float32Array, what: string) {
  assert.equal(a.length, b.length, what);
  for (let j = 0; j < a.length; j++) {
    if (Number.isNaN(a[j]) && Number.isNaN(b[j])) continue;
    assert.ok(Object.is(a[j], b[j]), `${what}[${j}]: ${a[j]} vs ${b[j]}`);
  }
}

test("bf16 decode and encode kernels are dtype.ts's, bit for bit (all 65536 bf16 values; NaN and rounding ties)", (t) => {
  if (!kernels) return t.skip("no SIMD");
  const n = 65536;
  kernels.reset();
  const src = kernels.alloc(2 * n);
  const dst = kernels.alloc(4 * n);
  const back = kernels.alloc(2 * n);
  const all = kernels.bytes(src, 2 * n);
  new Uint16Array(all.buffer, all.byteOffset, n).forEach((_, i, a) => (a[i] = i));
  kernels.decodeBf16(dst, src, n);
  const want = new Float32Array(n);
  decodeFloats("BF16", all, want);
  assert.ok(Buffer.from(kernels.bytes(dst, 4 * n)).equals(Buffer.from(want.buffer)));
  kernels.encodeBf16(back, dst, n);
  const again = new Uint8Array(2 * n); // the identity, except that NaNs come back quiet
  encodeFloats("BF16", want, again);
  assert.ok(Buffer.from(kernels.bytes(back, 2 * n)).equals(Buffer.from(again)), "round trip");
  // Encoding float32 bit patterns of every kind: halfway cases, NaNs with payloads, carries into the exponent.
  const rnd = mulberry32(3);
  const m = 10001; // not a multiple of 4
  kernels.reset();
  const f = kernels.alloc(4 * m);
  const e = kernels.alloc(2 * m);
  const fb = kernels.bytes(f, 4 * m);
  const bits = new Uint32Array(fb.buffer, fb.byteOffset, m);
  for (let i = 0; i < m; i++) {
    const r = rnd();
    const x = Math.floor(rnd() * 2 ** 32);
    bits[i] =
      r < 0.2
        ? (x & 0xffff0000) | 0x8000
        : r < 0.3
          ? (x & 0x807fffff) | 0x7f800000
          : r < 0.35
            ? 0x7f7fffff
            : x;
  }
  kernels.encodeBf16(e, f, m);
  const expected = new Uint8Array(2 * m);
  encodeFloats("BF16", new Float32Array(fb.buffer, fb.byteOffset, m), expected);
  assert.ok(Buffer.from(kernels.bytes(e, 2 * m)).equals(Buffer.from(expected)));
});

test("linear and task-arithmetic kernels give the JavaScript merge's values for every dtype pairing", (t) => {
  if (!kernels) return t.skip("no SIMD");
  const n = 4099;
  const inputs = [awkward(n, 1), awkward(n, 2), awkward(n, 3)];
  const cases: [string, Record<string, number | boolean>, Record<string, number>[]][] = [
    ["linear", {}, [{ weight: 0.3 }, { weight: 0.7 }, { weight: -0.25 }]],
    ["linear", { normalize: false }, [{ weight: 0.5 }, { weight: 0.5 }, { weight: 1 }]],
    ["task_arithmetic", {}, [{}, { weight: 0.6 }, { weight: 1.3 }]],
    ["task_arithmetic", { normalize: true, lambda: 0.8 }, [{}, { weight: 0.6 }, { weight: 1.3 }]],
  ];
  for (const [name, params, modelParams] of cases) {
    const method = METHODS[name]!;
    for (const inTypes of [
      ["BF16", "BF16", "BF16"],
      ["F32", "F32", "F32"],
      ["BF16", "F32", "BF16"],
    ] as const) {
      for (const outType of ["BF16", "F32"] as const) {
        // The inputs as stored in their dtypes, and as the JavaScript merge sees them.
        const stored = inputs.map((x, i) => {
          const bytes = new Uint8Array(x.length * (inTypes[i] === "F32" ? 4 : 2));
          encodeFloats(inTypes[i]!, x, bytes);
          return bytes;
        });
        const seen = stored.map((b, i) => {
          const v = new Float32Array(n);
          decodeFloats(inTypes[i]!, b, v);
          return v;
        });
        const input = {
          tensors: seen,
          baseIndex: 0,
          modelParams,
          params,
          shape: [n],
          random: () => 0,
        };
        const js = method.merge(input);
        const jsBytes = new Uint8Array(n * (outType === "F32" ? 4 : 2));
        encodeFloats(outType, js, jsBytes);
        const spec = method.simd!({ ...input, length: n, inputs: 3, random: { at: () => () => 0 } })!;
        kernels.reset();
        const ptrs = stored.map((b) => kernels.alloc(b.length));
        const out = kernels.alloc(jsBytes.length);
        stored.forEach((b, i) => kernels.bytes(ptrs[i]!, b.length).set(b));
        kernels.elementwise(spec, [...inTypes], outType, out, ptrs, n);
        const got = new Float32Array(n);
        decodeFloats(outType, kernels.bytes(out, jsBytes.length), got);
        const want = new Float32Array(n);
        decodeFloats(outType, jsBytes, want);
        sameValues(got, want, `${name} ${JSON.stringify(params)} ${inTypes.join(",")} → ${outType}`);
      }
    }
  }
});
