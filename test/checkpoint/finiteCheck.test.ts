import assert from "node:assert/strict";
import { test } from "node:test";
import { type DType, encodeFloats } from "../../src/checkpoint/dtype.js";
import { finiteOnly, firstNonFinite } from "../../src/checkpoint/finiteCheck.js";
import { StreamContext, type OutputTensor } from "../../src/checkpoint/tensorStream.js";
import { NonFiniteError } from "../../src/errors.js";

function bytesOf(dtype: DType, values: number[]): Uint8Array {
  if (dtype === "F64") return new Uint8Array(new Float64Array(values).buffer);
  const size = dtype === "F32" ? 4 : 2;
  const bytes = new Uint8Array(values.length * size);
  encodeFloats(dtype, new Float32Array(values), bytes);
  return bytes;
}

// The largest finite value of each format: the check must not mistake it for Inf.
const MAX: Record<string, number> = { F16: 65504, BF16: 3.3895313892515355e38, F32: 3.4028234663852886e38 };

test("firstNonFinite finds the first Inf or NaN of every float format, at any place", () => {
  for (const dtype of ["BF16", "F16", "F32", "F64"] as DType[]) {
    const big = MAX[dtype] ?? Number.MAX_VALUE;
    for (const n of [1, 2, 3, 7, 8, 4099, 9000]) {
      const finite = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -big : i % 3 === 1 ? big : -0));
      assert.equal(firstNonFinite(dtype, bytesOf(dtype, finite)), -1, `${dtype} ×${n}: all finite`);
      for (const at of new Set([0, n - 1, n >> 1, Math.min(n - 1, 4097)])) {
        for (const bad of [Infinity, -Infinity, NaN]) {
          const v = [...finite];
          v[at] = bad;
          if (at + 2 < n) v[at + 2] = NaN; // a later one is not the first
          assert.equal(firstNonFinite(dtype, bytesOf(dtype, v)), at, `${dtype} ×${n}: ${bad} at ${at}`);
        }
      }
    }
  }
  // Integer tensors hold no Inf: all-ones bytes are a value like any other.
  assert.equal(firstNonFinite("I32", new Uint8Array(16).fill(0xff)), -1);
});

/** A tensor whose bytes arrive in the given pieces. */
function pieces(dtype: DType, name: string, chunks: Uint8Array[]): OutputTensor {
  const byteLength = chunks.reduce((a, c) => a + c.byteLength, 0);
  return {
    name,
    dtype,
    shape: [byteLength / (dtype === "F32" ? 4 : 2)],
    byteLength,
    async write(sink) {
      for (const c of chunks) await sink.write(c);
    },
  };
}

test("finiteOnly passes finite tensors through unchanged and stops before the chunk holding Inf/NaN", async () => {
  const io = new StreamContext();
  const all = bytesOf("BF16", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const written: Uint8Array[] = [];
  const sink = { write: async (b: Uint8Array) => void written.push(b.slice()) };
  await finiteOnly(pieces("BF16", "ok", [all.subarray(0, 8), all.subarray(8)]), "why").write(sink, io);
  assert.deepEqual(Buffer.concat(written), Buffer.from(all));

  written.length = 0;
  const bad = bytesOf("BF16", [1, 2, 3, 4, 5, 6, NaN, 8]);
  await assert.rejects(
    finiteOnly(pieces("BF16", "w.bad", [bad.subarray(0, 8), bad.subarray(8)]), "it overflowed").write(
      sink,
      io,
    ),
    (e: unknown) => {
      assert.ok(e instanceof NonFiniteError);
      assert.equal(e.message.includes("\n"), false);
      assert.match(
        e.message,
        /^tensor w\.bad would hold NaN at element 6 \(BF16\): it overflowed; nothing written/,
      );
      assert.match(e.message, /--allow-nonfinite/);
      return true;
    },
  );
  assert.equal(written.length, 1, "the chunk before it went through, not the one holding it");

  // Chunks that split an element (no writer of deepen's does this) still count elements right.
  const f32 = bytesOf("F32", [1, 2, 3, -Infinity, 5]);
  const odd = [f32.subarray(0, 3), f32.subarray(3, 13), f32.subarray(13)];
  await assert.rejects(
    finiteOnly(pieces("F32", "split", odd), "why").write(sink, io),
    /-Infinity at element 3 \(F32\)/,
  );
  await io.close();
});
