import assert from "node:assert/strict";
import { test } from "node:test";
import { runChunked, seekableMulberry32, sequentialRandom } from "../../../src/merge/methods/chunked.js";
import type { ChunkedInput, MergeInput } from "../../../src/merge/methods/method.js";
import { METHODS } from "../../../src/merge/methods/registry.js";
import { magnitudes, RankSelection, RankWindow } from "../../../src/merge/methods/sparsify.js";
import { mulberry32 } from "../../../src/random.js";

test("the seekable random source draws what mulberry32 draws after skipping", () => {
  const seed = 0xdeadbeef;
  const ref = mulberry32(seed);
  const draws = Array.from({ length: 1000 }, () => ref());
  const src = seekableMulberry32(seed);
  for (const k of [0, 1, 17, 500, 999]) assert.equal(src.at(k)(), draws[k], `draw ${k}`);
  const from = src.at(300);
  for (let k = 300; k < 1000; k++) assert.equal(from(), draws[k]);
  // A plain generator can only be read in order.
  const seq = sequentialRandom(mulberry32(seed));
  assert.equal(seq.at(0)(), draws[0]);
  assert.throws(() => seq.at(5), /draws must be read in order/);
});

test("rank selection over chunks: exact values and counts, ties, zeros, subnormals, ±∞ and NaN (as +∞)", () => {
  const rnd = mulberry32(21);
  const n = 50_000;
  const pool = [0, -0, 1e-45, 2e-45, Infinity, -Infinity, NaN, 1.5, -1.5, 1.5000001];
  const x = Float32Array.from({ length: n }, () =>
    rnd() < 0.3 ? pool[Math.floor(rnd() * pool.length)]! : (rnd() - 0.5) * 2 ** Math.floor(rnd() * 8),
  );
  const mags = magnitudes(x);
  const sorted = Float32Array.from(mags).sort();
  const ranks = [0, 1, 12_345, n / 2, n - 2, n - 1];
  const sel = new RankSelection(ranks);
  const chunks = (f: (c: Float32Array) => void) => {
    for (let s = 0; s < n; s += 777) f(x.subarray(s, s + 777));
  };
  chunks((c) => sel.countHigh(c));
  sel.endHigh();
  chunks((c) => sel.countLow(c));
  const got = sel.endLow();
  ranks.forEach((r, i) => {
    const v = sorted[r]!;
    const bits = new Uint32Array(Float32Array.of(v).buffer)[0]!;
    assert.equal(got[i]!.bits, bits, `rank ${r}: value ${v}`);
    assert.equal(
      got[i]!.less,
      sorted.findIndex((m) => m === v),
      `rank ${r}: elements below`,
    );
  });
});

test("a rank window decided chunk by chunk keeps, of equal magnitudes at its edges, the later ones", () => {
  // 30 elements: magnitudes 1 (positions 0–9), 2 (10–19, signs alternating), 3 (20–29).
  // The 15 largest: all the 3s and the last five of the 2s, whatever the chunking.
  const x = Float32Array.from({ length: 30 }, (_, j) => (j < 10 ? 1 : j < 20 ? (j % 2 ? -2 : 2) : 3));
  const sel = new RankSelection(RankWindow.ranks(15, 30));
  sel.countHigh(x);
  sel.endHigh();
  sel.countLow(x);
  const w = RankWindow.of(15, 30, sel.endLow());
  for (const step of [1, 4, 7, 30]) {
    w.restart();
    const mask = new Uint8Array(30);
    for (let s = 0; s < 30; s += step) w.mask(x.subarray(s, s + step), mask.subarray(s, s + step));
    assert.deepEqual(
      [...mask.keys()].filter((j) => mask[j]),
      [15, 16, 17, 18, 19, ...Array.from({ length: 10 }, (_, k) => 20 + k)],
      `chunks of ${step}`,
    );
  }
});

/** Task vectors with many exact ties in magnitude (a coarse grid), zeros, and a few specials. */
function tiedModels(n: number, models: number, seed: number, specials = false): Float32Array[] {
  const rnd = mulberry32(seed);
  const base = Float32Array.from({ length: n }, () => Math.round((rnd() - 0.5) * 64) / 32);
  return [
    base,
    ...Array.from({ length: models }, () =>
      base.map((b) => {
        const r = rnd();
        if (specials && r < 0.002) return r < 0.001 ? NaN : Infinity;
        return r < 0.2 ? b : b + Math.round((rnd() - 0.5) * 16) / 64;
      }),
    ),
  ];
}

const sameValues = (a: Float32Array, b: Float32Array, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let j = 0; j < a.length; j++) {
    if (Number.isNaN(a[j]) && Number.isNaN(b[j])) continue;
    assert.ok(Object.is(a[j], b[j]), `${what}: element ${j} is ${a[j]} streamed, ${b[j]} whole`);
  }
};

test("every chunked method gives the whole-tensor result bit for bit, in chunks of any size", () => {
  const shape = [96, 50]; // 4800 elements; DELLA's chunks hold whole rows of 50
  const n = 4800;
  for (const specials of [false, true]) {
    const tensors = tiedModels(n, 3, specials ? 8 : 7, specials);
    for (const [name, method] of Object.entries(METHODS)) {
      if (!method.chunked) continue;
      const modelParams: Record<string, number>[] = [
        { weight: 1, density: 1 },
        { weight: 1, density: 0.5, gamma: 0.05, epsilon: 0.2 },
        { weight: 0.7, density: 0.3, gamma: 0.1, epsilon: 0.1 },
        { weight: -0.4, density: 1, gamma: 0.01, epsilon: 0.05 },
      ];
      const rescales = method.globalParameters.some((p) => p.name === "rescale")
        ? [false, true]
        : [undefined];
      for (const rescale of rescales) {
        const params: Record<string, number | boolean> = rescale === undefined ? {} : { rescale };
        const whole: MergeInput = {
          tensors,
          baseIndex: 0,
          modelParams,
          params,
          shape,
          random: mulberry32(99),
        };
        const expected = method.merge(whole);
        for (const chunk of [1, 7, 1000, 4096]) {
          const input: ChunkedInput = {
            length: n,
            inputs: tensors.length,
            baseIndex: 0,
            modelParams,
            params,
            shape,
            random: seekableMulberry32(99),
          };
          const got = runChunked(method.chunked(input), tensors, chunk);
          sameValues(got, expected, `${name} rescale ${rescale} specials ${specials} chunks of ${chunk}`);
        }
      }
    }
  }
});
