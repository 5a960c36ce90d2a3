import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { layerLayout } from "../../src/arch/layerLayout.js";
import { FAMILIES } from "../../src/arch/families.js";
import { openModelFolder } from "../../src/checkpoint/modelFolder.js";
import { ArchitectureError, CheckpointError } from "../../src/errors.js";
import { editTensors, fixture, tempDir } from "../helpers.js";

const root = tempDir();

test("every family's synthetic checkpoint splits into head, n equal layers and tail", async () => {
  for (const fam of FAMILIES) {
    const dir = await fixture(root, { family: fam.family, layers: 3 });
    const l = layerLayout(await openModelFolder(dir));
    assert.equal(l.family, fam);
    assert.equal(l.layers, 3);
    assert.deepEqual(
      l.head.map((e) => e.name),
      ["model.embed_tokens.weight"],
    );
    assert.deepEqual(
      l.tail.map((e) => e.name),
      fam.tiedByDefault ? ["model.norm.weight"] : ["model.norm.weight", "lm_head.weight"],
    );
    assert.equal(
      l.layerTensors[2]!.size,
      fam.layerTensors({ hidden: 1, intermediate: 1, heads: 1, kvHeads: 1, headDim: 1, vocab: 1, experts: 4 })
        .length,
    );
  }
});

test("a layer missing a tensor is named with the layer and the tensor", async () => {
  const dir = await fixture(root, { family: "llama", layers: 3 });
  await editTensors(dir, (ts) => ts.filter((t) => t.name !== "model.layers.1.mlp.up_proj.weight"));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(dir)))(),
    (e: Error) =>
      e instanceof CheckpointError &&
      /layer 1 is missing tensor model\.layers\.1\.mlp\.up_proj\.weight \(layer 0 has it\)/.test(e.message),
  );
});

test("tensors of a layer beyond the configured count", async () => {
  const dir = await fixture(root, { family: "llama", layers: 3 });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: 2 }));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(dir)))(),
    /belongs to layer 2, but config\.json says num_hidden_layers = 2/,
  );
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: "three" }));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(dir)))(),
    /num_hidden_layers must be a positive integer, got "three"/,
  );
});

test("an architecture without a table row says which and how to add one", async () => {
  const dir = await fixture(root, { family: "llama", layers: 1 });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, architectures: ["FalconForCausalLM"] }));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(dir)))(),
    (e: Error) =>
      e instanceof ArchitectureError &&
      /architecture \["FalconForCausalLM"\] is not supported .* add a row for it to src\/arch\/families\.ts/.test(
        e.message,
      ),
  );
});

test("a model without a tensor its architecture needs is refused, even when its layers agree", async () => {
  const noNorm = await fixture(root, { family: "llama", layers: 3 });
  await editTensors(noNorm, (ts) => ts.filter((t) => t.name !== "model.norm.weight"));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(noNorm)))(),
    (e: Error) =>
      e instanceof CheckpointError &&
      e.message === `${noNorm}: has no tensor model.norm.weight, which LlamaForCausalLM needs`,
  );
  // A norm deleted from every layer: the layers agree with each other, not with the architecture.
  const noInputNorms = await fixture(root, { family: "qwen2", layers: 3 });
  await editTensors(noInputNorms, (ts) => ts.filter((t) => !t.name.endsWith("input_layernorm.weight")));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(noInputNorms)))(),
    /has no tensor model\.layers\.0\.input_layernorm\.weight, which Qwen2ForCausalLM needs \(and 2 more\)/,
  );
  // An untied head is part of the set; a tied one is not, and extra tensors are allowed.
  const noHead = await fixture(root, { family: "mistral", layers: 1 });
  await editTensors(noHead, (ts) => ts.filter((t) => t.name !== "lm_head.weight"));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(noHead)))(),
    /has no tensor lm_head\.weight, which MistralForCausalLM needs/,
  );
  const cfg = JSON.parse(readFileSync(join(noHead, "config.json"), "utf8"));
  writeFileSync(join(noHead, "config.json"), JSON.stringify({ ...cfg, tie_word_embeddings: true }));
  await editTensors(noHead, (ts) => [
    ...ts,
    { ...ts[0]!, name: "model.layers.0.self_attn.rotary_emb.inv_freq" },
  ]);
  assert.equal(layerLayout(await openModelFolder(noHead)).layerTensors[0]!.size, 10);
  // Mixtral's experts come from num_local_experts.
  const moe = await fixture(root, { family: "mixtral", layers: 1 });
  const moeCfg = JSON.parse(readFileSync(join(moe, "config.json"), "utf8"));
  writeFileSync(join(moe, "config.json"), JSON.stringify({ ...moeCfg, num_local_experts: 5 }));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(moe)))(),
    /has no tensor model\.layers\.0\.block_sparse_moe\.experts\.4\.w1\.weight/,
  );
});

test("a config.json whose sizes no longer describe the tensors is refused, naming the tensor, before anything is written", async () => {
  const dir = await fixture(root, { family: "llama", layers: 2 });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, number>;
  const { hidden_size: h, intermediate_size: i, num_key_value_heads: kv, head_dim: hd } = cfg;
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { hidden_size: h! * 2 },
      /model\.embed_tokens\.weight is \[\d+, \d+\], but config\.json's sizes make it/,
    ],
    [
      { intermediate_size: i! + 1 },
      new RegExp(
        `mlp\\.gate_proj\\.weight is \\[${i}, ${h}\\], but config\\.json's sizes make it \\[${i! + 1}, ${h}\\]`,
      ),
    ],
    [{ num_attention_heads: 1 }, /q_proj\.weight is \[\d+, \d+\], but config\.json's sizes make it/],
    [{ num_key_value_heads: kv! * 2 }, /k_proj\.weight is \[\d+, \d+\], but config\.json's sizes make it/],
    [{ head_dim: hd! / 2 }, /q_proj\.weight is \[\d+, \d+\], but config\.json's sizes make it/],
    [
      { vocab_size: 7 },
      /model\.embed_tokens\.weight is \[\d+, \d+\], but config\.json's sizes make it \[7, \d+\]/,
    ],
    [{ intermediate_size: null }, /config\.json: intermediate_size must be a positive integer, got null/],
    [{ tie_word_embeddings: 0 }, /config\.json: tie_word_embeddings must be true or false, got 0/],
  ];
  for (const [edit, pattern] of cases) {
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, ...edit }));
    await assert.rejects(
      (async () => layerLayout(await openModelFolder(dir)))(),
      (e: Error) => e instanceof CheckpointError && pattern.test(e.message),
    );
  }
  // Keys with transformers' defaults: no num_key_value_heads is multi-head attention, no head_dim is hidden ÷ heads.
  const mha = await fixture(root, { family: "llama", layers: 1, dims: { kvHeads: 4, heads: 4 } });
  const mhaCfg = JSON.parse(readFileSync(join(mha, "config.json"), "utf8")) as Record<string, unknown>;
  delete mhaCfg.num_key_value_heads;
  if (mhaCfg.head_dim === (mhaCfg.hidden_size as number) / (mhaCfg.num_attention_heads as number))
    delete mhaCfg.head_dim;
  writeFileSync(join(mha, "config.json"), JSON.stringify(mhaCfg));
  assert.equal(layerLayout(await openModelFolder(mha)).layers, 1);
});

test("a layer count past the named limit, or past the layers the weights hold, is refused before anything is sized by it", async () => {
  const dir = await fixture(root, { family: "llama", layers: 3 });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  for (const n of [2 ** 31, 1025]) {
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: n }));
    await assert.rejects(
      (async () => layerLayout(await openModelFolder(dir)))(),
      (e: Error) =>
        e instanceof CheckpointError &&
        e.message ===
          `${join(dir, "config.json")}: num_hidden_layers = ${n} is over the 1024-layer limit (corrupt?)`,
    );
  }
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: 5 }));
  await assert.rejects(
    (async () => layerLayout(await openModelFolder(dir)))(),
    /config\.json: num_hidden_layers = 5, but the weights hold layers 0-2 only/,
  );
});
