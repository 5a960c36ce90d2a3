import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { GgufFile } from "../../src/checkpoint/gguf/readGguf.js";
import { readGguf } from "../../src/checkpoint/gguf/readGguf.js";
import { GGUF_LINEAGE_KEY, type Lineage } from "../../src/checkpoint/lineage.js";
import { exportGguf } from "../../src/surgery/exportGguf.js";
import { upscale } from "../../src/surgery/upscale.js";
import { upscaleGguf } from "../../src/surgery/upscaleGguf.js";
import { DEFAULT_MODEL as DEFAULT_MODEL_DIR } from "../../src/demo/runDemo.js";
import { tempDir } from "../helpers.js";

const root = tempDir();

function sameTensors(a: GgufFile, b: GgufFile) {
  const ra = readFileSync(a.file);
  const rb = readFileSync(b.file);
  assert.deepEqual(
    a.tensors.map((t) => [t.name, t.type.name, t.dims]),
    b.tensors.map((t) => [t.name, t.type.name, t.dims]),
  );
  for (const [i, t] of a.tensors.entries()) {
    const u = b.tensors[i]!;
    assert.ok(ra.subarray(t.begin, t.end).equals(rb.subarray(u.begin, u.end)), t.name);
  }
}

for (const dtype of ["bf16", "q8_0"] as const) {
  test(`DUS on deepen-tiny's GGUF (${dtype}) equals DUS on its safetensors followed by export`, async () => {
    // Path 1: export, then up-scale the GGUF (quantized blocks copied).
    const exported = join(root, `tiny-${dtype}.gguf`);
    await exportGguf(DEFAULT_MODEL_DIR, exported, { dtype });
    const viaGguf = join(root, `grown-${dtype}.gguf`);
    await upscaleGguf({ model: exported, out: viaGguf });
    // Path 2: up-scale the folder, then export.
    const folder = join(root, `grown-${dtype}`);
    await upscale({ model: DEFAULT_MODEL_DIR, out: folder });
    const viaFolder = join(root, `grown-${dtype}-exported.gguf`);
    await exportGguf(folder, viaFolder, { dtype });

    const a = await readGguf(viaGguf);
    const b = await readGguf(viaFolder);
    sameTensors(a, b);
    // The same metadata but the name each path gives and the lineage each path records.
    const skip = new Set(["general.name", GGUF_LINEAGE_KEY]);
    const keys = (g: GgufFile) => [...g.metadata.keys()].filter((k) => !skip.has(k));
    assert.deepEqual(keys(a), keys(b));
    for (const k of keys(a)) assert.deepEqual(a.metadata.get(k), b.metadata.get(k), k);
    assert.equal(a.metadata.get("llama.block_count")?.value, 12);
    // Both record the same layer map: the folder's deepen.json travels into the export.
    const map = (g: GgufFile) =>
      (JSON.parse(g.metadata.get(GGUF_LINEAGE_KEY)!.value as string) as Lineage).layer_map.map(
        (l) => l.layer,
      );
    assert.deepEqual(map(a), [0, 1, 2, 3, 4, 5, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(map(b), map(a));
  });
}
