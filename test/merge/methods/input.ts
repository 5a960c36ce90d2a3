// Builds MergeInput records for the method tests.
import assert from "node:assert/strict";
import type { MergeInput } from "../../../src/merge/methods/method.js";
import { mulberry32 } from "../../../src/random.js";

export interface Case {
  base?: number;
  models?: Partial<Record<string, number | boolean>>[];
  params?: Record<string, number | boolean>;
  shape?: number[];
  seed?: number;
  random?: () => number;
}

export function input(tensors: number[][], c: Case = {}): MergeInput {
  return {
    tensors: tensors.map((t) => Float32Array.from(t)),
    baseIndex: c.base,
    modelParams: (c.models ?? tensors.map(() => ({}))).map(
      (m) =>
        Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as Record<
          string,
          number | boolean
        >,
    ),
    params: c.params ?? {},
    shape: c.shape ?? [tensors[0]!.length],
    random: c.random ?? mulberry32(c.seed ?? 1),
  };
}

/** Each element within tol of the expected value (the expected values are rounded hand computations). */
export function near(actual: ArrayLike<number>, expected: number[], tol = 1e-5, what = ""): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let j = 0; j < expected.length; j++) {
    assert.ok(
      Math.abs(actual[j]! - expected[j]!) <= tol,
      `${what}[${j}]: got ${actual[j]}, expected ${expected[j]} (±${tol}); all: [${Array.from(actual).join(", ")}]`,
    );
  }
}

/** Bitwise equality of two float32 arrays. */
export function sameBits(a: Float32Array, b: Float32Array, what = ""): void {
  assert.deepEqual(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    what,
  );
}
