import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeFloats, encodeFloats } from "../../src/checkpoint/dtype.js";
import { RecipeError } from "../../src/errors.js";
import { upscale } from "../../src/surgery/upscale.js";
import { fixture, modelTensors, readJson, tempDir } from "../helpers.js";
import { expectCarried, expectOutput } from "./expectOutput.js";

const root = tempDir();
const a = await fixture(root, { family: "llama", layers: 4, seed: 1 });
const b = await fixture(root, { family: "llama", layers: 4, seed: 2, shardBytes: 30_000 });

function recipe(name: string, yaml: string): string {
  const p = join(root, name);
  writeFileSync(p, yaml);
  return p;
}

test("a two-model frankenmerge: slices in order, embeddings from the first model, norm and head from the last", async () => {
  const p = recipe(
    "franken.yml",
    `slices:
  - sources:
      - model: ${a}
        layer_range: [0, 3]
  - sources:
      - model: ${b}
        layer_range: [1, 4]
  - sources:
      - model: ${a}
        layer_range: [2, 3]
  - sources:
      - model: ${b}
        layer_range: [3, 4]
merge_method: passthrough
dtype: bfloat16
`,
  );
  const out = join(root, "franken");
  const r = await upscale({ recipe: p, out });
  assert.equal(r.layers, 8);
  await expectOutput(
    out,
    [a, b],
    "llama",
    [
      { model: 0, layer: 0 },
      { model: 0, layer: 1 },
      { model: 0, layer: 2 },
      { model: 1, layer: 1 },
      { model: 1, layer: 2 },
      { model: 1, layer: 3 },
      { model: 0, layer: 2 },
      { model: 1, layer: 3 },
    ],
    { headFrom: 0, tailFrom: 1 },
  );
  expectCarried(out, a);
  assert.equal(readJson(join(out, "config.json")).num_hidden_layers, 8);
});

test("scale with {filter, value} multiplies matching tensors of that source only", async () => {
  const p = recipe(
    "scaled.yml",
    `slices:
  - sources:
      - model: ${a}
        layer_range: [0, 2]
  - sources:
      - model: ${a}
        layer_range: [1, 3]
        parameters:
          scale:
            - filter: o_proj
              value: 0.5
            - filter: down_proj
              value: 0.0
            - value: 1.0
merge_method: passthrough
`,
  );
  const out = join(root, "scaled");
  await upscale({ recipe: p, out });
  const src = await modelTensors(a);
  const got = await modelTensors(out);
  const o = src.get("model.layers.1.self_attn.o_proj.weight")!.bytes;
  const vals = new Float32Array(o.length / 2);
  decodeFloats("BF16", o, vals);
  for (let i = 0; i < vals.length; i++) vals[i]! *= 0.5;
  const want = new Uint8Array(o.length);
  encodeFloats("BF16", vals, want);
  assert.ok(got.get("model.layers.2.self_attn.o_proj.weight")!.bytes.equals(want), "o_proj halved");
  assert.ok(
    got.get("model.layers.2.mlp.down_proj.weight")!.bytes.every((x) => x === 0),
    "down_proj zeroed",
  );
  assert.ok(
    got
      .get("model.layers.2.mlp.up_proj.weight")!
      .bytes.equals(src.get("model.layers.1.mlp.up_proj.weight")!.bytes),
  );
  assert.ok(
    got
      .get("model.layers.1.self_attn.o_proj.weight")!
      .bytes.equals(src.get("model.layers.1.self_attn.o_proj.weight")!.bytes),
    "first slice unscaled",
  );
});

test("model paths resolve beside the recipe, and tokenizer_source picks a model", async () => {
  const p = recipe(
    "relative.yml",
    `slices:
  - sources:
      - model: ${b.split("/").pop()}
        layer_range: [0, 2]
  - sources:
      - model: ${a.split("/").pop()}
        layer_range: [2, 4]
merge_method: passthrough
tokenizer_source: ${a.split("/").pop()}
`,
  );
  const out = join(root, "relative");
  await upscale({ recipe: p, out });
  await expectOutput(
    out,
    [b, a],
    "llama",
    [
      { model: 0, layer: 0 },
      { model: 0, layer: 1 },
      { model: 1, layer: 2 },
      { model: 1, layer: 3 },
    ],
    { headFrom: 0, tailFrom: 1 },
  );
  expectCarried(out, a);
  // mergekit's documented form, model:NAME, names the same model.
  const prefixed = join(root, "relative-prefixed");
  await upscale({
    recipe: recipe(
      "prefixed.yml",
      readFileSync(p, "utf8").replace("tokenizer_source: ", "tokenizer_source: model:"),
    ),
    out: prefixed,
  });
  expectCarried(prefixed, a);
});

async function rejects(yaml: string, pattern: RegExp) {
  const p = recipe("bad.yml", yaml);
  await assert.rejects(upscale({ recipe: p, out: join(root, "never") }), (e: Error) => {
    assert.ok(e instanceof RecipeError, `${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(p), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test("bad recipes: each a one-line error naming the recipe", async () => {
  const slice = (m: string, r: string) => `  - sources:\n      - model: ${m}\n        layer_range: ${r}\n`;
  await rejects(
    `slices:\n${slice(a, "[0, 5]")}merge_method: passthrough\n`,
    /layer_range \[0, 5\) is outside .*, which has 4 layers/,
  );
  await rejects(
    `slices:\n${slice(a, "[2, 2]")}merge_method: passthrough\n`,
    /layer_range must be \[start, end\) with 0 <= start < end/,
  );
  await rejects(
    `slices:\n${slice(a, "[0, 2]")}merge_method: ties\n`,
    /merge_method "ties": deepen upscale runs passthrough/,
  );
  await rejects(`slices:\n${slice(a, "[0, 2]")}merge_method: passthrough\nfoo: 1\n`, /unknown key foo/);
  await rejects(`slices: [\n`, /not valid YAML/);
  await rejects(
    `slices:\n${slice(a, "[0, 2]")}merge_method: passthrough\ntokenizer_source: union\n`,
    /union \(vocabulary merging\) is not supported for passthrough/,
  );
  await rejects(
    `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 2]\n      - model: ${b}\n        layer_range: [0, 2]\nmerge_method: passthrough\n`,
    /exactly one source for passthrough/,
  );
});

test("slice models that disagree in hidden size or vocabulary", async () => {
  const wide = await fixture(root, { family: "llama", layers: 4, dims: { hidden: 96 } });
  const bigVocab = await fixture(root, { family: "llama", layers: 4, dims: { vocab: 320 } });
  const two = (m: string) =>
    `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 2]\n  - sources:\n      - model: ${m}\n        layer_range: [2, 4]\nmerge_method: passthrough\n`;
  await rejects(two(wide), /disagree in hidden_size \(64 vs 96\)/);
  await rejects(two(bigVocab), /disagree in vocab_size \(288 vs 320\)/);
});
