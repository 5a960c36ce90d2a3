import assert from "node:assert/strict";
import { readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { LORA_CACHE_SUBDIR, loraMergedFolder } from "../../../src/checkpoint/lora/loraCache.js";
import { mergeLora } from "../../../src/checkpoint/lora/mergeLora.js";
import { adapterConfig, linearPair, writeAdapter } from "../../fixtures/loraAdapter.js";
import { expectSameTensors, fixture, tempDir } from "../../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "mistral", layers: 2, dtype: "BF16" });
const adapter = await writeAdapter(
  join(root, "adapter"),
  adapterConfig(),
  linearPair("model.layers.1.self_attn.v_proj", 4, 32, 64, 1),
);

test("built once under lora/<key> of the cache root, then reused as it is", async () => {
  const cacheDir = join(root, "cache-a");
  const first = await loraMergedFolder(model, adapter, { cacheDir, quiet: true });
  assert.equal(first.built, true);
  assert.equal(first.dir, join(cacheDir, LORA_CACHE_SUBDIR, first.key));
  const mtime = statSync(join(first.dir, "model.safetensors.index.json")).mtimeMs;
  const again = await loraMergedFolder(model, adapter, { cacheDir, quiet: true });
  assert.deepEqual(again, { ...first, built: false });
  assert.equal(statSync(join(again.dir, "model.safetensors.index.json")).mtimeMs, mtime);
  const direct = join(root, "direct");
  await mergeLora(model, adapter, direct);
  await expectSameTensors(first.dir, direct);
  // Another dtype is another entry.
  const f32 = await loraMergedFolder(model, adapter, { cacheDir, quiet: true, dtype: "F32" });
  assert.equal(f32.built, true);
  assert.notEqual(f32.key, first.key);
});

test("$DEEPEN_CACHE is the default root; a changed adapter file gets a new entry", async () => {
  const cacheDir = join(root, "cache-env");
  const saved = process.env.DEEPEN_CACHE;
  process.env.DEEPEN_CACHE = cacheDir;
  try {
    const first = await loraMergedFolder(model, adapter, { quiet: true });
    assert.equal(first.dir, join(cacheDir, LORA_CACHE_SUBDIR, first.key));
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(adapter, "adapter_model.safetensors"), later, later);
    const changed = await loraMergedFolder(model, adapter, { quiet: true });
    assert.equal(changed.built, true);
    assert.notEqual(changed.key, first.key);
  } finally {
    if (saved === undefined) delete process.env.DEEPEN_CACHE;
    else process.env.DEEPEN_CACHE = saved;
  }
});

test("concurrent builders: one entry is kept, both get it, nothing else is left in the cache", async () => {
  const cacheDir = join(root, "cache-race");
  const results = await Promise.all(
    [1, 2, 3].map(() => loraMergedFolder(model, adapter, { cacheDir, quiet: true })),
  );
  assert.equal(new Set(results.map((r) => r.dir)).size, 1);
  assert.equal(results.filter((r) => r.built).length, 1);
  assert.deepEqual(readdirSync(join(cacheDir, LORA_CACHE_SUBDIR)), [results[0]!.key]);
  await expectSameTensors(
    results[0]!.dir,
    (await loraMergedFolder(model, adapter, { cacheDir, quiet: true })).dir,
  );
});
