// The seam measured by the engine: identity layers measure 0, the distances match a float64
// reference forward, a constructed cheap seam is recommended, and batching does not change results.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeFloats } from "../../../src/checkpoint/dtype.js";
import { SeamError, UsageError } from "../../../src/errors.js";
import { measureSeam } from "../../../src/eval/seam/measureSeam.js";
import { sampleRows } from "../../../src/eval/seam/sampleRows.js";
import { upscale } from "../../../src/surgery/upscale.js";
import { loadTokenizer } from "../../../src/tokenizer/loadTokenizer.js";
import { editTensors, fixture, tempDir } from "../../helpers.js";
import { referenceHiddenStates } from "../../reference/decoderForward.js";

const root = tempDir();
const data = join(root, "sample.txt");
writeFileSync(
  data,
  "The paper explains depth up-scaling by the layer distance at the seam, where the last kept layer of " +
    "one copy feeds the first kept layer of the other. Later work measured it: the angle between hidden states.\n",
);
const small = { data, tokens: 64, context: 16 };

/** Zeroes the residual writers (attention output, MLP down projection) of `layers`: each becomes the identity. */
async function makeIdentity(dir: string, layers: number[]): Promise<void> {
  const writers = layers.flatMap((l) => [
    `model.layers.${l}.self_attn.o_proj.weight`,
    `model.layers.${l}.mlp.down_proj.weight`,
  ]);
  await editTensors(dir, (ts) =>
    ts.map((t) => {
      if (!writers.includes(t.name)) return t;
      const bytes = Buffer.alloc(t.bytes.length);
      encodeFloats(t.entry.dtype, new Float32Array(t.bytes.length / 4), bytes);
      return { ...t, bytes };
    }),
  );
}

test("block expansion's identity layers: distance 0 across them and Block Influence 0; the base's random layers are not", async () => {
  const base = await fixture(root, { family: "llama", layers: 4, dtype: "F32" });
  const out = join(root, "expanded");
  await upscale({ model: base, out, method: "expand", blocks: 2 }); // 0, 1, id, 2, 3, id
  const r = await measureSeam(out, small);
  assert.equal(r.layers, 6);
  assert.equal(r.tokens, 64);
  for (const l of [2, 5]) {
    assert.equal(r.blockInfluence[l]!.mean, 0, `layer ${l} (identity)`);
    assert.equal(r.distance[l]![l + 1]!.mean, 0);
  }
  for (const l of [0, 1, 3, 4]) {
    assert.ok(r.blockInfluence[l]!.mean > 1e-4, `layer ${l}: ${r.blockInfluence[l]!.mean}`);
    assert.ok(r.distance[l]![l + 1]!.mean > 1e-3);
  }
});

test("the angular distance of every pair of boundaries matches a float64 computation from the reference forward (Gemma: scaled embeddings)", async () => {
  for (const family of ["llama", "gemma"]) {
    const dir = await fixture(root, { family, layers: 3, dtype: "F32" });
    const T = 12;
    const r = await measureSeam(dir, { data, tokens: T, context: T });
    const rows = sampleRows(await loadTokenizer(dir), data, { tokens: T, context: T });
    const tokens = (await rows.next()).value as number[];
    const hs = await referenceHiddenStates(dir, tokens);
    assert.equal(hs.length, 4);
    for (let i = 0; i < 4; i++)
      for (let j = i + 1; j < 4; j++) {
        let sum = 0;
        for (let t = 0; t < T; t++) {
          const x = hs[i]![t]!;
          const y = hs[j]![t]!;
          let dot = 0;
          let xx = 0;
          let yy = 0;
          for (let h = 0; h < x.length; h++) {
            dot += x[h]! * y[h]!;
            xx += x[h]! * x[h]!;
            yy += y[h]! * y[h]!;
          }
          sum += Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(xx * yy)))) / Math.PI;
        }
        const want = sum / T;
        const got = r.distance[i]![j]!.mean;
        assert.ok(
          Math.abs(got - want) < 1e-5,
          `${family} boundaries ${i}, ${j}: ${got} vs reference ${want}`,
        );
        assert.ok(want > 1e-3);
      }
  }
});

test("a seam built to be cheap is the one recommended, over the symmetric DUS plan of that size", async () => {
  const dir = await fixture(root, { family: "llama", layers: 6, dtype: "F32" });
  await makeIdentity(dir, [3, 4]); // boundary 3 = boundary 5
  const r = await measureSeam(dir, { ...small, size: 8 });
  assert.equal(r.distance[5]![3]!.mean, 0);
  assert.deepEqual([r.recommended.a, r.recommended.b, r.recommended.size], [5, 3, 8]);
  assert.equal(r.recommended.symmetric, false);
  const dus = r.plans.find((p) => p.symmetric)!;
  assert.equal(dus.m, 2);
  assert.ok(dus.distance.mean > 1e-3);
  assert.equal(r.dus[2]!.distance, dus.distance);
  // The paired difference from the symmetric plan: exactly minus its distance (the cheap seam is 0 on every token).
  assert.equal(r.recommended.versusSymmetric!.mean, -dus.distance.mean);
});

test("streaming: the sample in one batch, in batches of one, and in batches with a padded last one give the same measures", async () => {
  const dir = await fixture(root, { family: "llama", layers: 3, dtype: "F32" });
  const one = await measureSeam(dir, { ...small, batch: 4 });
  assert.equal(one.sequences, 4);
  for (const batch of [1, 3]) {
    const r = await measureSeam(dir, { ...small, batch });
    assert.equal(r.tokens, one.tokens);
    r.distance.forEach((row, i) =>
      row.forEach((e, j) => {
        const o = one.distance[i]![j]!;
        assert.ok(
          Math.abs(e.mean - o.mean) < 1e-7 && Math.abs(e.se - o.se) < 1e-7,
          `batch ${batch}: ${i}, ${j}`,
        );
      }),
    );
  }
});

test("bad input: a sample shorter than one sequence, a depth no plan reaches or below the base's, a model the engine cannot run", async () => {
  const dir = await fixture(root, { family: "llama", layers: 3, dtype: "F32" });
  const usage = (re: RegExp) => (e: Error) =>
    e instanceof UsageError && re.test(e.message) && !e.message.includes("\n");
  await assert.rejects(
    measureSeam(dir, { data, tokens: 8, context: 16 }),
    usage(/^--tokens 8: shorter than one sequence of 16 tokens/),
  );
  const tiny = join(root, "tiny.txt");
  writeFileSync(tiny, "short\n");
  await assert.rejects(
    measureSeam(dir, { data: tiny, tokens: 64, context: 16 }),
    usage(/^--data .*tiny\.txt: holds \d tokens, shorter than one sequence of 16 tokens/),
  );
  await assert.rejects(measureSeam(dir, { ...small, size: 7 }), usage(/reachable sizes are 3 to 6$/));
  await assert.rejects(measureSeam(dir, { ...small, size: 2 }), usage(/^--size 2: below the base's depth/));
  const moe = await fixture(root, { family: "mixtral", layers: 2, dtype: "F32" });
  await assert.rejects(
    measureSeam(moe, small),
    (e: Error) =>
      e instanceof SeamError &&
      /the engine cannot run this model, so its seam cannot be measured/.test(e.message) &&
      /surgery still works with an explicit --drop/.test(e.message),
  );
});
