import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ggufLayerOf } from "../../src/arch/ggufLayout.js";
import { type GgufFile, readGguf } from "../../src/checkpoint/gguf/readGguf.js";
import { CheckpointError, RecipeError, UsageError } from "../../src/errors.js";
import { upscaleGguf } from "../../src/surgery/upscaleGguf.js";
import { inspectGguf } from "../../src/surgery/inspectGguf.js";
import { ggufU32 } from "../../src/checkpoint/gguf/ggufMetadata.js";
import { LAYER_TAG_KEY, writeGgufModel } from "../fixtures/ggufModel.js";
import { tempDir } from "../helpers.js";
import { GGUF_LINEAGE_KEY, type Lineage } from "../../src/checkpoint/lineage.js";

const root = tempDir();
const base = join(root, "base.gguf");
await writeGgufModel(base, { kvHeadsArray: true });
const baseFile = await readGguf(base);

const bytesOf = (g: GgufFile, name: string) => {
  const t = g.tensors.find((x) => x.name === name)!;
  return readFileSync(g.file).subarray(t.begin, t.end);
};
const isZero = (b: Uint8Array) => b.every((x) => x === 0);

/** Each output blk tensor holds exactly the bytes of its mapped source tensor; the rest are the source's own. */
function expectMapped(out: GgufFile, src: GgufFile, map: number[], identity: number[] = []) {
  const raw = readFileSync(out.file);
  const srcRaw = readFileSync(src.file);
  for (const t of out.tensors) {
    const at = ggufLayerOf(t.name);
    const from = at ? `blk.${map[at.layer]}.${at.rel}` : t.name;
    const s = src.tensors.find((x) => x.name === from)!;
    assert.ok(s, `${t.name} <- ${from}`);
    assert.equal(t.type, s.type, t.name);
    assert.deepEqual(t.dims, s.dims, t.name);
    const got = raw.subarray(t.begin, t.end);
    if (at && identity.includes(at.layer) && /^(attn_output|ffn_down)\./.test(at.rel)) {
      assert.ok(isZero(got), `${t.name} is zeros`);
    } else {
      assert.ok(got.equals(srcRaw.subarray(s.begin, s.end)), `${t.name} is ${from}'s bytes`);
    }
  }
}

const meta = (g: GgufFile, key: string) => g.metadata.get(key)?.value;

test("GGUF DUS 8 -> 12: every tensor is its source's bytes, block_count and per-layer arrays follow", async () => {
  const out = join(root, "dus.gguf");
  const r = await upscaleGguf({ model: base, out });
  assert.equal(r.layers, 12);
  const g = await readGguf(out);
  const map = [0, 1, 2, 3, 4, 5, 2, 3, 4, 5, 6, 7];
  expectMapped(g, baseFile, map);
  assert.equal(g.tensors.length, 12 * 9 + 3);
  assert.deepEqual(
    g.tensors.map((t) => t.name).filter((n) => !n.startsWith("blk.")),
    ["token_embd.weight", "output_norm.weight", "output.weight"],
  );
  assert.equal(g.tensors[0]!.name, "token_embd.weight", "head tensors stay before the layers");
  assert.equal(meta(g, "llama.block_count"), 12);
  assert.deepEqual(
    meta(g, LAYER_TAG_KEY),
    map.map((l) => 100 + l),
  );
  assert.deepEqual(meta(g, "llama.attention.head_count_kv"), Array(12).fill(2));
  assert.equal(meta(g, "general.name"), "deepen-gguf-test (deepen dus: 8 -> 12 layers)");
  // Everything else as it was, in its order: the tokenizer included; the lineage is added at the end.
  const keys = [...baseFile.metadata.keys()];
  assert.deepEqual([...g.metadata.keys()], [...keys, GGUF_LINEAGE_KEY]);
  const lineage = JSON.parse(meta(g, GGUF_LINEAGE_KEY) as string) as Lineage;
  assert.equal(lineage.method, "dus");
  assert.deepEqual(
    lineage.layer_map.map((l) => l.layer),
    map,
  );
  assert.deepEqual(lineage.parents, []);
  // A second generation names the first as its parent, as deepen.json does for folders.
  const again = await upscaleGguf({ model: out, out: join(root, "dus-dus.gguf"), drop: 0 });
  const second = JSON.parse(again.metadata.get(GGUF_LINEAGE_KEY)!.value as string) as Lineage;
  assert.equal(second.layer_map.length, 24);
  assert.deepEqual(second.parents, [lineage]);
  for (const k of keys) {
    if ([LAYER_TAG_KEY, "llama.block_count", "general.name", "llama.attention.head_count_kv"].includes(k))
      continue;
    assert.deepEqual(g.metadata.get(k), baseFile.metadata.get(k), k);
  }
  assert.equal(r.fileBytes, g.fileSize);
});

test("GGUF --layers and --drop choose the same layers as for folders; --dry-run writes nothing", async () => {
  const out = join(root, "dus10.gguf");
  const r = await upscaleGguf({ model: base, out, layers: 10, dryRun: true });
  assert.deepEqual(
    r.lineage.layer_map.map((s) => s.layer),
    [0, 1, 2, 3, 4, 3, 4, 5, 6, 7],
  );
  assert.throws(() => readFileSync(out));
  const w = await upscaleGguf({ model: base, out: join(root, "drop1.gguf"), drop: 1 });
  assert.equal(w.layers, 14);
});

test("GGUF block expansion: inserted blocks copy their layer with attn_output and ffn_down zero bytes", async () => {
  const out = join(root, "expand.gguf");
  const r = await upscaleGguf({ model: base, out, method: "expand", blocks: 4 });
  assert.deepEqual(r.plan.newLayers, [2, 5, 8, 11]);
  const g = await readGguf(out);
  const map = [0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7];
  expectMapped(g, baseFile, map, [2, 5, 8, 11]);
  assert.ok(isZero(bytesOf(g, "blk.2.attn_output.weight")));
  assert.ok(isZero(bytesOf(g, "blk.11.ffn_down.weight")));
  assert.ok(!isZero(bytesOf(g, "blk.2.attn_q.weight")));
  assert.equal(meta(g, "general.name"), "deepen-gguf-test (deepen expand: 8 -> 12 layers)");
});

test("a passthrough recipe of GGUF models stacks their layers and per-layer values", async () => {
  const other = join(root, "other.gguf");
  await writeGgufModel(other, {
    seed: 7,
    layerTags: [200, 201, 202, 203, 204, 205, 206, 207],
    name: "other",
  });
  const recipe = join(root, "stack.yml");
  writeFileSync(
    recipe,
    [
      "merge_method: passthrough",
      "dtype: bfloat16",
      "slices:",
      "  - sources: [{ model: base.gguf, layer_range: [0, 6] }]",
      "  - sources: [{ model: other.gguf, layer_range: [2, 8] }]",
      "",
    ].join("\n"),
  );
  const out = join(root, "stack.gguf");
  const r = await upscaleGguf({ recipe, out });
  assert.match(r.warnings.join("\n"), /dtype bfloat16|dtype BF16/);
  const g = await readGguf(out);
  const o = await readGguf(other);
  assert.equal(meta(g, "llama.block_count"), 12);
  assert.deepEqual(meta(g, LAYER_TAG_KEY), [100, 101, 102, 103, 104, 105, 202, 203, 204, 205, 206, 207]);
  for (let j = 0; j < 12; j++) {
    const [src, layer] = j < 6 ? [baseFile, j] : [o, j - 4];
    assert.ok(
      bytesOf(g, `blk.${j}.ffn_up.weight`).equals(bytesOf(src, `blk.${layer}.ffn_up.weight`)),
      `layer ${j}`,
    );
  }
  // The embeddings come from the first slice's model, the head from the last's.
  assert.ok(bytesOf(g, "token_embd.weight").equals(bytesOf(baseFile, "token_embd.weight")));
  assert.ok(bytesOf(g, "output.weight").equals(bytesOf(o, "output.weight")));
});

test("recipe scale: 0 and 1 on quantized tensors, other values only on float ones", async () => {
  const write = (name: string, body: string) => {
    const f = join(root, name);
    writeFileSync(f, `merge_method: passthrough\nslices:\n${body}`);
    return f;
  };
  const q = write(
    "scaleq.yml",
    "  - sources: [{ model: base.gguf, layer_range: [0, 8], parameters: { scale: 0.5 } }]\n",
  );
  await assert.rejects(upscaleGguf({ recipe: q, out: join(root, "scaleq.gguf") }), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(
      e.message,
      /Q4_0: a scale of 0\.5 cannot be applied to quantized blocks without dequantizing/,
    );
    return true;
  });
  // A filter in Hugging Face names selects the GGUF tensors: o_proj is attn_output.
  const zero = write(
    "scale0.yml",
    "  - sources: [{ model: base.gguf, layer_range: [0, 8] }]\n" +
      "    parameters: { scale: [{ filter: o_proj, value: 0 }, { value: 1 }] }\n",
  );
  await upscaleGguf({ recipe: zero, out: join(root, "scale0.gguf") });
  const g = await readGguf(join(root, "scale0.gguf"));
  assert.ok(isZero(bytesOf(g, "blk.3.attn_output.weight")));
  assert.ok(bytesOf(g, "blk.3.attn_q.weight").equals(bytesOf(baseFile, "blk.3.attn_q.weight")));
  // F16 weights are scaled as they stream.
  const f16 = join(root, "f16.gguf");
  await writeGgufModel(f16, { matrixType: "F16" });
  const half = write(
    "scalef16.yml",
    "  - sources: [{ model: f16.gguf, layer_range: [0, 8] }]\n" +
      "    parameters: { scale: [{ filter: attn_q, value: 0.5 }, { value: 1 }] }\n",
  );
  await upscaleGguf({ recipe: half, out: join(root, "half.gguf") });
  const h = await readGguf(join(root, "half.gguf"));
  const src = await readGguf(f16);
  const a = new Uint16Array(Uint8Array.from(bytesOf(src, "blk.1.attn_q.weight")).buffer);
  const b = new Uint16Array(Uint8Array.from(bytesOf(h, "blk.1.attn_q.weight")).buffer);
  // Halving an f16 subtracts one from its exponent field (these values are far from subnormal).
  for (let i = 0; i < a.length; i += 97)
    if ((a[i]! & 0x7fff) > 0x0800) assert.equal(b[i], a[i]! - 0x0400, `element ${i}`);
  assert.ok(bytesOf(h, "blk.1.attn_k.weight").equals(bytesOf(src, "blk.1.attn_k.weight")));
});

test("bad GGUF inputs and outputs are refused in one line", async () => {
  const past = join(root, "past.gguf");
  await writeGgufModel(past, { blockCount: 7 });
  await assert.rejects(upscaleGguf({ model: past, out: join(root, "x.gguf") }), (e: Error) => {
    assert.ok(e instanceof CheckpointError);
    assert.match(
      e.message,
      /past\.gguf: tensor blk\.7\.\w+\.weight belongs to layer 7, but llama\.block_count = 7$/,
    );
    return true;
  });
  const hole = join(root, "hole.gguf");
  await writeGgufModel(hole, { skipLayers: [5] });
  await assert.rejects(
    upscaleGguf({ model: hole, out: join(root, "x.gguf") }),
    /hole\.gguf: llama\.block_count = 8, but layer 5 has no tensors \(blk\.5\.\*\)$/,
  );
  const split = join(root, "split.gguf");
  await writeGgufModel(split, { extraMeta: [["split.count", ggufU32(3)]] });
  await assert.rejects(
    upscaleGguf({ model: split, out: join(root, "x.gguf") }),
    /split\.gguf: part of a model split into 3 files: merge it first \(llama-gguf-split --merge\)/,
  );
  const report = await inspectGguf(hole);
  assert.equal(report.layers, null);
  assert.match(report.layoutProblem ?? "", /layer 5 has no tensors/);
  const short = join(root, "short.gguf");
  await writeGgufModel(short, { layers: 6, blockCount: 8 });
  await assert.rejects(upscaleGguf({ model: short, out: join(root, "x.gguf") }), /layer 6 has no tensors/);
  await assert.rejects(
    upscaleGguf({ model: base, out: join(root, "x") }),
    /-o .*x: a GGUF model is up-scaled into a \.gguf file/,
  );
  await assert.rejects(
    upscaleGguf({ model: base, out: join(root, "x.gguf"), dtype: "BF16" }),
    /--dtype converts model folders/,
  );
  const existing = join(root, "dus.gguf");
  await assert.rejects(upscaleGguf({ model: base, out: existing }), /exists; pass --force to replace it/);
  const notGguf = join(root, "notes.gguf");
  writeFileSync(notGguf, "my notes");
  await assert.rejects(
    upscaleGguf({ model: base, out: notGguf, force: true }),
    /--force will not replace .*notes\.gguf: it is not a GGUF file/,
  );
  assert.equal(readFileSync(notGguf, "utf8"), "my notes");
  await assert.rejects(upscaleGguf({ model: base, out: base, force: true }), /is the input/);
  const r = await upscaleGguf({ model: base, out: existing, force: true, layers: 16 });
  assert.equal(r.layers, 16);
  assert.equal((await readGguf(existing)).metadata.get("llama.block_count")?.value, 16);
});

test("a recipe may not mix GGUF files and model folders", async () => {
  const { fixture } = await import("../helpers.js");
  const folder = await fixture(root, { family: "llama", layers: 4 });
  const recipe = join(root, "mixed.yml");
  writeFileSync(
    recipe,
    `merge_method: passthrough\nslices:\n  - sources: [{ model: base.gguf, layer_range: [0, 4] }]\n  - sources: [{ model: ${folder}, layer_range: [0, 4] }]\n`,
  );
  await assert.rejects(upscaleGguf({ recipe, out: join(root, "mixed.gguf") }), (e: Error) => {
    assert.ok(e instanceof RecipeError);
    assert.match(
      e.message,
      /is not a GGUF file: a recipe's models must be all GGUF files or all model folders/,
    );
    return true;
  });
  const { upscale } = await import("../../src/surgery/upscale.js");
  const reversed = join(root, "mixed2.yml");
  writeFileSync(
    reversed,
    `merge_method: passthrough\nslices:\n  - sources: [{ model: ${folder}, layer_range: [0, 4] }]\n  - sources: [{ model: base.gguf, layer_range: [0, 4] }]\n`,
  );
  await assert.rejects(
    upscale({ recipe: reversed, out: join(root, "mixed2") }),
    /is a GGUF file: a recipe's models must be all model folders or all GGUF files/,
  );
});
