import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { upscale } from "../../src/surgery/upscale.js";
import { fixture, tempDir } from "../helpers.js";
import { llamaLogits } from "../reference/llamaForward.js";

const root = tempDir();
const tokens = [256, 72, 101, 108, 108, 111, 44, 32, 119, 111];

const maxDiff = (a: Float64Array[], b: Float64Array[]) =>
  Math.max(...a.map((row, t) => Math.max(...row.map((v, i) => Math.abs(v - b[t]![i]!)))));

test("block expansion computes exactly what the base computed (float64 reference forward)", async () => {
  for (const family of ["llama", "mistral"]) {
    const base = await fixture(root, { family, layers: 4, dtype: "F32" });
    const out = join(root, `${family}-expanded`);
    await upscale({ model: base, out, method: "expand", blocks: 2 });
    const a = await llamaLogits(base, tokens);
    const b = await llamaLogits(out, tokens);
    assert.equal(maxDiff(a, b), 0, `${family}: identical logits`);
  }
});

test("a DUS model is a different function (the seam the paper heals), and m = n/2 of DUS is the base itself", async () => {
  const base = await fixture(root, { family: "llama", layers: 4, dtype: "F32" });
  await upscale({ model: base, out: join(root, "dus"), drop: 1 });
  const a = await llamaLogits(base, tokens);
  assert.ok(maxDiff(a, await llamaLogits(join(root, "dus"), tokens)) > 1e-6);
  // m = n/2: A = [0, n/2), B = [n/2, n): the base's own layer order.
  await upscale({ model: base, out: join(root, "same"), drop: 2 });
  assert.equal(maxDiff(a, await llamaLogits(join(root, "same"), tokens)), 0);
});
