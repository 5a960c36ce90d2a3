import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "../../src/errors.js";
import type { Lineage } from "../../src/checkpoint/lineage.js";
import { upscale } from "../../src/surgery/upscale.js";
import { fixture, modelTensors, readJson, tempDir } from "../helpers.js";
import { expectCarried, expectOutput } from "./expectOutput.js";

const root = tempDir();

// After every n/K-th layer, a copy of it with its residual writers zeroed.
const expandMap = (n: number, k: number) =>
  Array.from({ length: n }, (_, i) =>
    (i + 1) % (n / k) === 0
      ? [
          { model: 0, layer: i },
          { model: 0, layer: i, identity: true },
        ]
      : [{ model: 0, layer: i }],
  ).flat();

for (const family of ["llama", "mixtral", "phi3", "olmo2", "gemma2"]) {
  test(`block expansion of ${family}: copies with zero residual writers after every n/K layers`, async () => {
    const src = await fixture(root, { family, layers: 6 });
    const out = join(root, `${family}-x`);
    const r = await upscale({ model: src, out, method: "expand", blocks: 3 });
    assert.deepEqual(r.plan.newLayers, [2, 5, 8]);
    await expectOutput(out, [src], family, expandMap(6, 3));
    expectCarried(out, src);
    const lineage = readJson(join(out, "deepen.json")) as unknown as Lineage;
    assert.deepEqual(lineage.new_layers, [2, 5, 8]);
    assert.match(readFileSync(join(out, "README.md"), "utf8"), /New layers .*: 2, 5, 8/);
  });
}

test("what expansion zeroes: attention output and MLP down projections (every expert's w2 in Mixtral), nothing else", async () => {
  const src = await fixture(root, { family: "mixtral", layers: 2 });
  const out = join(root, "mix-zero");
  await upscale({ model: src, out, method: "expand", blocks: 1 });
  const t = await modelTensors(out);
  const zeroed = [...t]
    .filter(([n, v]) => n.startsWith("model.layers.2.") && v.bytes.every((b) => b === 0))
    .map(([n]) => n);
  assert.deepEqual(zeroed.sort(), [
    "model.layers.2.block_sparse_moe.experts.0.w2.weight",
    "model.layers.2.block_sparse_moe.experts.1.w2.weight",
    "model.layers.2.block_sparse_moe.experts.2.w2.weight",
    "model.layers.2.block_sparse_moe.experts.3.w2.weight",
    "model.layers.2.self_attn.o_proj.weight",
  ]);
});

test("--blocks must divide the layer count", async () => {
  const src = await fixture(root, { family: "llama", layers: 6 });
  await assert.rejects(
    upscale({ model: src, out: join(root, "x4"), method: "expand", blocks: 4 }),
    (e: Error) =>
      e instanceof UsageError && /--blocks 4: need a divisor of the layer count n = 6/.test(e.message),
  );
  await assert.rejects(
    upscale({ model: src, out: join(root, "x0"), method: "expand" }),
    /--method expand needs --blocks K/,
  );
});

test("an expanded DUS output records both generations in its lineage", async () => {
  const src = await fixture(root, { family: "llama", layers: 4 });
  await upscale({ model: src, out: join(root, "gen1"), drop: 1 });
  await upscale({ model: join(root, "gen1"), out: join(root, "gen2"), method: "expand", blocks: 2 });
  const l = readJson(join(root, "gen2", "deepen.json")) as unknown as Lineage;
  assert.equal(l.method, "expand");
  assert.equal(l.parents.length, 1);
  assert.equal(l.parents[0]!.method, "dus");
});
