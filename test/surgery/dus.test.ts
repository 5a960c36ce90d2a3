import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FAMILIES } from "../../src/arch/families.js";
import type { DType } from "../../src/checkpoint/dtype.js";
import { UsageError } from "../../src/errors.js";
import { upscale } from "../../src/surgery/upscale.js";
import { type Lineage } from "../../src/checkpoint/lineage.js";
import { fixture, modelTensors, readJson, tempDir } from "../helpers.js";
import { expectCarried, expectOutput, expectSameFiles } from "./expectOutput.js";

const root = tempDir();

/** DUS's layer map: A = [0, n−m), then B = [m, n). */
function dusMap(n: number, m: number) {
  return [
    ...Array.from({ length: n - m }, (_, i) => ({ model: 0, layer: i })),
    ...Array.from({ length: n - m }, (_, i) => ({ model: 0, layer: m + i })),
  ];
}

// Every family of the table, varying the layouts a user meets: sharded or one file, bf16 or f32, tied or not.
FAMILIES.forEach((fam, i) => {
  const dtype: DType = i % 2 === 0 ? "BF16" : "F32";
  const layout = i % 3 === 0 ? "single" : "sharded";
  test(`DUS of ${fam.family} (${dtype}, ${layout}): every tensor is its source's bytes`, async () => {
    const src = await fixture(root, { family: fam.family, layers: 8, dtype, layout, shardBytes: 60_000 });
    const out = join(root, `${fam.family}-dus`);
    const r = await upscale({ model: src, out, shardBytes: 100_000 });
    assert.equal(r.layers, 12);
    await expectOutput(out, [src], fam.family, dusMap(8, 2));
    expectCarried(out, src);
    const tensors = await modelTensors(out);
    assert.equal(tensors.has("lm_head.weight"), !fam.tiedByDefault, "a tied model stays tied");
    const lineage = readJson(join(out, "deepen.json")) as unknown as Lineage;
    assert.deepEqual(lineage.layer_map, dusMap(8, 2));
    assert.deepEqual(lineage.recipe, { method: "dus", n: 8, m: 2, layers: 12, seam: [5, 2] });
    const card = readFileSync(join(out, "README.md"), "utf8");
    assert.match(card, /n = 8, m = 2/);
    assert.match(card, /made with deepen/);
    assert.match(card, /0-5 <- .* 0-5\n6-11 <- .* 2-7/);
  });
});

test("an untied Gemma and a tied Llama keep their own choice", async () => {
  for (const [family, tied] of [
    ["gemma", false],
    ["llama", true],
  ] as const) {
    const src = await fixture(root, { family, layers: 4, tied });
    const out = join(root, `${family}-tie-${tied}`);
    await upscale({ model: src, out });
    assert.equal((await modelTensors(out)).has("lm_head.weight"), !tied);
    assert.equal(readJson(join(out, "config.json")).tie_word_embeddings, tied);
  }
});

test("--drop 0 repeats the whole stack; --layers derives m", async () => {
  const src = await fixture(root, { family: "mistral", layers: 6 });
  await upscale({ model: src, out: join(root, "naive"), drop: 0 });
  await expectOutput(join(root, "naive"), [src], "mistral", dusMap(6, 0));
  await upscale({ model: src, out: join(root, "to8"), layers: 8 });
  await expectOutput(join(root, "to8"), [src], "mistral", dusMap(6, 2));
});

test("m out of range and unreachable depths are refused before anything is written", async () => {
  const src = await fixture(root, { family: "llama", layers: 4 });
  const cases: [object, RegExp][] = [
    [{ drop: 4 }, /--drop 4: need 0 <= m < n = 4/],
    [{ layers: 7 }, /--layers 7: DUS of a 4-layer model gives 2\(n - m\) layers, an even number from 2 to 8/],
    [{ layers: 10 }, /--layers 10/],
    [{ drop: 1, layers: 6 }, /give --drop or --layers, not both/],
  ];
  for (const [opts, re] of cases) {
    const out = join(root, "never");
    await assert.rejects(
      upscale({ model: src, out, ...opts }),
      (e: Error) => e instanceof UsageError && re.test(e.message),
    );
    assert.throws(() => readFileSync(join(out, "config.json")));
  }
});

test("a second run writes identical bytes", async () => {
  const src = await fixture(root, { family: "qwen2", layers: 4, shardBytes: 30_000 });
  await upscale({ model: src, out: join(root, "run1"), shardBytes: 40_000 });
  await upscale({ model: src, out: join(root, "run2"), shardBytes: 40_000 });
  expectSameFiles(join(root, "run1"), join(root, "run2"));
});

test("--dtype converts float tensors and the config says so", async () => {
  const src = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
  const out = join(root, "to-bf16");
  await upscale({ model: src, out, drop: 0, dtype: "BF16" });
  const a = await modelTensors(src);
  const b = await modelTensors(out);
  const w = a.get("model.layers.1.self_attn.q_proj.weight")!;
  const f32 = new Float32Array(w.bytes.buffer, w.bytes.byteOffset, w.bytes.length / 4);
  const bf = b.get("model.layers.3.self_attn.q_proj.weight")!;
  assert.equal(bf.entry.dtype, "BF16");
  const u16 = new Uint16Array(bf.bytes.buffer, bf.bytes.byteOffset, bf.bytes.length / 2);
  for (let i = 0; i < f32.length; i++) {
    const back = new Float32Array(new Uint32Array([u16[i]! << 16]).buffer)[0]!;
    assert.ok(Math.abs(back - f32[i]!) <= Math.abs(f32[i]!) * 2 ** -8, `element ${i}`);
  }
  assert.equal(readJson(join(out, "config.json")).torch_dtype, "bfloat16");
});

test("the shard size is honoured and the output is split into several shards", async () => {
  const src = await fixture(root, { family: "llama", layers: 4 });
  const out = join(root, "small-shards");
  await upscale({ model: src, out, shardBytes: 50_000 });
  const index = readJson(join(out, "model.safetensors.index.json")) as { weight_map: Record<string, string> };
  const shards = new Set(Object.values(index.weight_map));
  assert.ok(shards.size > 3);
  const tensors = await modelTensors(out);
  for (const s of shards) {
    const bytes = [...tensors.values()]
      .filter((t) => t.entry.file.endsWith(s))
      .reduce((a, t) => a + t.bytes.length, 0);
    const single = [...tensors.values()].filter((t) => t.entry.file.endsWith(s)).length === 1;
    assert.ok(bytes <= 50_000 || single, `${s} holds ${bytes} bytes`);
  }
});
