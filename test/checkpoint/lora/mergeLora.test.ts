import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeFloats } from "../../../src/checkpoint/dtype.js";
import { mergeLora } from "../../../src/checkpoint/lora/mergeLora.js";
import {
  adapterConfig,
  type AdapterTensor,
  linearPair,
  P,
  randomValues,
  writeAdapter,
} from "../../fixtures/loraAdapter.js";
import { fixture, modelTensors, readJson, tempDir } from "../../helpers.js";
import { expectCarried } from "../../surgery/expectOutput.js";
import { assertClose, expected, floats } from "./loraExpect.js";

const root = tempDir();
const f32 = await fixture(root, { family: "mistral", layers: 2, dtype: "F32", seed: 7 });
const bf16 = await fixture(root, { family: "mistral", layers: 2, dtype: "BF16", seed: 8 });
const base = await modelTensors(f32);
let n = 0;
const adapter = (config: Record<string, unknown>, tensors: AdapterTensor[]) =>
  writeAdapter(join(root, `adapter-${n++}`), config, tensors);
const out = () => join(root, `out-${n++}`);
const layer = (l: number, m: string) => `model.layers.${l}.${m}`;

test("q, v and down projections of every layer: W + (alpha/r)·B·A within 1e-6, every other tensor byte-identical", async () => {
  const pairs = new Map<string, AdapterTensor[]>();
  for (const l of [0, 1]) {
    pairs.set(layer(l, "self_attn.q_proj"), linearPair(layer(l, "self_attn.q_proj"), 4, 64, 64, 10 + l));
    pairs.set(layer(l, "self_attn.v_proj"), linearPair(layer(l, "self_attn.v_proj"), 4, 32, 64, 20 + l));
    pairs.set(layer(l, "mlp.down_proj"), linearPair(layer(l, "mlp.down_proj"), 4, 64, 128, 30 + l));
  }
  const ad = await adapter(
    adapterConfig({ target_modules: ["q_proj", "v_proj", "down_proj"] }),
    [...pairs.values()].flat(),
  );
  const o = out();
  const r = await mergeLora(f32, ad, o);
  assert.equal(r.modules, 6);
  assert.deepEqual(r.scales, [2]);
  const merged = await modelTensors(o);
  assert.equal(merged.size, base.size);
  for (const [name, t] of base) {
    const module = name.replace(/\.weight$/, "");
    const pair = pairs.get(module);
    if (pair) assertClose(floats(merged.get(name)!), expected(floats(t), pair, 2), 1e-6, name);
    else assert.ok(merged.get(name)!.bytes.equals(t.bytes), `${name} is copied byte for byte`);
  }
  expectCarried(o, f32);
  assert.deepEqual(readJson(join(o, "config.json")), readJson(join(f32, "config.json")));
  const lineage = readJson(join(o, "deepen.json"));
  assert.equal(lineage.method, "lora");
  assert.equal((lineage.recipe as { adapter: { path: string } }).adapter.path, ad);
  assert.equal((lineage.layer_map as unknown[]).length, 2);
  assert.match(readFileSync(join(o, "README.md"), "utf8"), /LoRA adapter adapter-\d+ merged/);
});

test("rsLoRA scales by alpha/√r", async () => {
  const m = layer(0, "self_attn.q_proj");
  const pair = linearPair(m, 16, 64, 64, 40);
  const ad = await adapter(adapterConfig({ r: 16, lora_alpha: 8, use_rslora: true }), pair);
  const o = out();
  const r = await mergeLora(f32, ad, o);
  assert.deepEqual(r.scales, [2]);
  assertClose(
    floats((await modelTensors(o)).get(`${m}.weight`)!),
    expected(floats(base.get(`${m}.weight`)!), pair, 2),
    1e-6,
    m,
  );
});

test("fan_in_fan_out: the update is (B·A)ᵀ; without it the same factors do not fit the weight", async () => {
  // k_proj is [32, 64]: a Conv1D-style adapter sees it as in = 32, out = 64.
  const m = layer(1, "self_attn.k_proj");
  const pair = linearPair(m, 4, 64, 32, 50);
  const ad = await adapter(adapterConfig({ target_modules: ["k_proj"], fan_in_fan_out: true }), pair);
  const o = out();
  await mergeLora(f32, ad, o);
  const got = floats((await modelTensors(o)).get(`${m}.weight`)!);
  assertClose(got, expected(floats(base.get(`${m}.weight`)!), pair, 2, true), 1e-6, m);
  const plain = await adapter(adapterConfig({ target_modules: ["k_proj"] }), pair);
  await assert.rejects(
    mergeLora(f32, plain, out()),
    /makes a \[64, 32\] update, but model\.layers\.1\.self_attn\.k_proj\.weight .* is \[32, 64\]/,
  );
});

test("rank_pattern and alpha_pattern override r and lora_alpha for the modules their keys match", async () => {
  const q0 = layer(0, "self_attn.q_proj");
  const q1 = layer(1, "self_attn.q_proj");
  const v0 = layer(0, "self_attn.v_proj");
  const pairs = [linearPair(q0, 8, 64, 64, 60), linearPair(q1, 4, 64, 64, 61), linearPair(v0, 2, 32, 64, 62)];
  const ad = await adapter(
    adapterConfig({
      r: 4,
      lora_alpha: 8,
      // A key matches the end of a module name at a dot; the first that matches wins.
      rank_pattern: { "layers.0.self_attn.q_proj": 8, v_proj: 2 },
      alpha_pattern: { "0.self_attn.q_proj": 4, "self_attn.v_proj": 1 },
    }),
    pairs.flat(),
  );
  const o = out();
  const r = await mergeLora(f32, ad, o);
  assert.deepEqual(r.scales, [0.5, 2]); // q0: 4/8, q1: 8/4, v0: 1/2
  const merged = await modelTensors(o);
  for (const [pair, scale] of [
    [pairs[0]!, 0.5],
    [pairs[1]!, 2],
    [pairs[2]!, 0.5],
  ] as const) {
    const name = pair[0]!.name.slice(P.length).replace(/\.lora_A\.weight$/, ".weight");
    assertClose(floats(merged.get(name)!), expected(floats(base.get(name)!), [...pair], scale), 1e-6, name);
  }
  // A pattern key is a whole name segment: "_proj" does not match "q_proj".
  const partial = await adapter(adapterConfig({ rank_pattern: { _proj: 8 } }), linearPair(q0, 8, 64, 64, 63));
  await assert.rejects(
    mergeLora(f32, partial, out()),
    /rank 8, but adapter_config\.json gives module model\.layers\.0\.self_attn\.q_proj rank 4/,
  );
});

test("target_modules as a list of suffixes or as a full-match regex; a module it does not select is refused", async () => {
  const q1 = linearPair(layer(1, "self_attn.q_proj"), 4, 64, 64, 70);
  const regex = await adapter(
    adapterConfig({ target_modules: "model\\.layers\\.\\d+\\.self_attn\\.(q|v)_proj" }),
    q1,
  );
  await mergeLora(f32, regex, out());
  const notFull = await adapter(adapterConfig({ target_modules: "self_attn\\.q_proj" }), q1);
  await assert.rejects(
    mergeLora(f32, notFull, out()),
    /module model\.layers\.1\.self_attn\.q_proj is not one that adapter_config\.json selects/,
  );
  const list = await adapter(adapterConfig({ target_modules: ["v_proj"] }), q1);
  await assert.rejects(mergeLora(f32, list, out()), /is not one that adapter_config\.json selects/);
  const layers = await adapter(adapterConfig({ layers_to_transform: [0], layers_pattern: "layers" }), q1);
  await assert.rejects(mergeLora(f32, layers, out()), /is not one that adapter_config\.json selects/);
  const layer1 = await adapter(adapterConfig({ layers_to_transform: [1] }), q1);
  await mergeLora(f32, layer1, out());
});

test("embedding LoRA adds (B·A)ᵀ to the embeddings; a modules_to_save tensor replaces the model's whole", async () => {
  const r = 4;
  const emb: AdapterTensor[] = [
    { name: `${P}model.embed_tokens.lora_embedding_A`, shape: [r, 288], values: randomValues(r * 288, 80) },
    { name: `${P}model.embed_tokens.lora_embedding_B`, shape: [64, r], values: randomValues(64 * r, 81) },
  ];
  const head = randomValues(288 * 64, 82, 0.04);
  const ad = await adapter(
    adapterConfig({ target_modules: ["embed_tokens"], modules_to_save: ["lm_head"] }),
    [...emb, { name: `${P}lm_head.weight`, shape: [288, 64], values: head }],
  );
  const o = out();
  const res = await mergeLora(f32, ad, o);
  assert.equal(res.modules, 1);
  assert.equal(res.replaced, 1);
  const merged = await modelTensors(o);
  const ref = expected(floats(base.get("model.embed_tokens.weight")!), emb, 2, true);
  assertClose(floats(merged.get("model.embed_tokens.weight")!), ref, 1e-6, "embed_tokens");
  assert.deepEqual(floats(merged.get("lm_head.weight")!), head);
});

test("a BF16 model: the float64 sum, rounded to float32 and then to BF16 (--dtype float32 stops at float32)", async () => {
  const m = layer(0, "self_attn.q_proj");
  const pair = linearPair(m, 4, 64, 64, 90);
  const ad = await adapter(adapterConfig(), pair);
  const w = floats((await modelTensors(bf16)).get(`${m}.weight`)!);
  const ref = expected(w, pair, 2);
  const o = out();
  await mergeLora(bf16, ad, o);
  const got = (await modelTensors(o)).get(`${m}.weight`)!;
  assert.equal(got.entry.dtype, "BF16");
  // The float64 sum rounded to float32, then to nearest even in BF16, as the writer rounds it; the
  // reference sums in another order, so a float32 value on a BF16 tie may round the other way.
  const want = new Uint8Array(ref.length * 2);
  encodeFloats("BF16", Float32Array.from(ref), want);
  let differ = 0;
  const have = new Uint16Array(got.bytes.buffer, got.bytes.byteOffset, ref.length);
  const wantBits = new Uint16Array(want.buffer);
  for (let i = 0; i < ref.length; i++) if (have[i] !== wantBits[i]) differ++;
  assert.ok(
    differ <= ref.length / 1000,
    `${differ} of ${ref.length} elements differ from the rounded reference`,
  );
  const wide = out();
  await mergeLora(bf16, ad, wide, { dtype: "F32" });
  const wideT = await modelTensors(wide);
  assert.equal(wideT.get("model.norm.weight")!.entry.dtype, "F32");
  assertClose(floats(wideT.get(`${m}.weight`)!), ref, 1e-6, m);
  assert.equal(readJson(join(wide, "config.json")).torch_dtype, "float32");
});
