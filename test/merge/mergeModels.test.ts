import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { RecipeError } from "../../src/errors.js";
import { DTYPE_BYTES, decodeFloats } from "../../src/checkpoint/dtype.js";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { chunkFor, MERGE_BUFFER_BYTES, MERGE_CHUNK } from "../../src/merge/planMerge.js";
import { DEPTH } from "../../src/merge/stream.js";
import { BUILTIN_TEMPLATES } from "../../src/tokenizer/builtinTemplates.js";
import { editTensors, fixture, modelTensors, readJson, runCli, tempDir } from "../helpers.js";
import { expectCarried, expectSameFiles } from "../surgery/expectOutput.js";

const root = tempDir();
const a = await fixture(root, { family: "llama", layers: 3, seed: 1 });
const b = await fixture(root, { family: "llama", layers: 3, seed: 2 });
const c = await fixture(root, { family: "llama", layers: 3, seed: 3 });
let n = 0;
const config = (yaml: string) => {
  const p = join(root, `merge-${n++}.yml`);
  writeFileSync(p, yaml);
  return p;
};
const out = () => join(root, `out-${n++}`);

test("linear with weights (1, 0) reproduces model A bit for bit, and writes the config and card beside it", async () => {
  const cfg = config(
    `models:\n  - model: ${a}\n    parameters:\n      weight: 1.0\n  - model: ${b}\n    parameters:\n      weight: 0.0\nmerge_method: linear\n`,
  );
  const o = out();
  const r = await mergeModels(cfg, { out: o });
  assert.equal(r.method, "linear");
  const ta = await modelTensors(a);
  const to = await modelTensors(o);
  assert.equal(to.size, ta.size);
  for (const [name, t] of ta) assert.ok(to.get(name)!.bytes.equals(t.bytes), name);
  expectCarried(o, a);
  assert.equal(readFileSync(join(o, "mergekit_config.yml"), "utf8"), readFileSync(cfg, "utf8"));
  assert.match(readFileSync(join(o, "README.md"), "utf8"), /Merge of 2 models \(linear\)/);
  assert.equal(readJson(join(o, "deepen.json")).method, "merge");
});

test("chat_template by mergekit's built-in name writes that template into the merged tokenizer config", async () => {
  const o = out();
  await mergeModels(
    config(
      `models:\n  - model: ${a}\n    parameters:\n      weight: 0.5\n  - model: ${b}\n    parameters:\n      weight: 0.5\nmerge_method: linear\nchat_template: chatml\n`,
    ),
    { out: o },
  );
  assert.equal(readJson(join(o, "tokenizer_config.json")).chat_template, BUILTIN_TEMPLATES.chatml!.template);
});

test("slerp at t = 0 and t = 1 gives the endpoints; a gradient over layers moves from one to the other", async () => {
  const slerp = (t: string) =>
    config(
      `models:\n  - model: ${a}\n  - model: ${b}\nbase_model: ${a}\nmerge_method: slerp\nparameters:\n  t: ${t}\n`,
    );
  const ta = await modelTensors(a);
  const tb = await modelTensors(b);
  const o0 = out();
  await mergeModels(slerp("0.0"), { out: o0 });
  for (const [name, t] of await modelTensors(o0))
    assert.ok(t.bytes.equals(ta.get(name)!.bytes), `t=0 ${name}`);
  const o1 = out();
  await mergeModels(slerp("1.0"), { out: o1 });
  for (const [name, t] of await modelTensors(o1))
    assert.ok(t.bytes.equals(tb.get(name)!.bytes), `t=1 ${name}`);
  // t: [0, 1] runs over the layers: layer 0 is A's, the last layer (2 of 0..2) is B's.
  const og = out();
  await mergeModels(slerp("[0, 1]"), { out: og });
  const tg = await modelTensors(og);
  const q = (i: number) => `model.layers.${i}.self_attn.q_proj.weight`;
  assert.ok(tg.get(q(0))!.bytes.equals(ta.get(q(0))!.bytes));
  assert.ok(tg.get(q(2))!.bytes.equals(tb.get(q(2))!.bytes));
  assert.ok(
    !tg.get(q(1))!.bytes.equals(ta.get(q(1))!.bytes) && !tg.get(q(1))!.bytes.equals(tb.get(q(1))!.bytes),
  );
});

test("{filter, value} parameters resolve per tensor, first match wins", async () => {
  const cfg = config(`models:
  - model: ${a}
    parameters:
      weight:
        - filter: self_attn
          value: 1.0
        - value: 0.0
  - model: ${b}
    parameters:
      weight:
        - filter: self_attn
          value: 0.0
        - value: 1.0
merge_method: linear
`);
  const o = out();
  await mergeModels(cfg, { out: o });
  const ta = await modelTensors(a);
  const tb = await modelTensors(b);
  for (const [name, t] of await modelTensors(o)) {
    const from = name.includes("self_attn") ? ta : tb;
    assert.ok(t.bytes.equals(from.get(name)!.bytes), name);
  }
});

test("DARE is reproducible with a seed and differs across seeds; slices merge layer ranges", async () => {
  const cfg = config(
    `models:\n  - model: ${b}\n    parameters:\n      weight: 1.0\n      density: 0.5\n  - model: ${c}\n    parameters:\n      weight: 1.0\n      density: 0.5\nbase_model: ${a}\nmerge_method: dare_ties\n`,
  );
  const [o1, o2, o3] = [out(), out(), out()];
  await mergeModels(cfg, { out: o1, seed: 7 });
  await mergeModels(cfg, { out: o2, seed: 7 });
  await mergeModels(cfg, { out: o3, seed: 8 });
  expectSameFiles(o1, o2);
  const q = "model.layers.1.mlp.up_proj.weight";
  assert.ok(!(await modelTensors(o1)).get(q)!.bytes.equals((await modelTensors(o3)).get(q)!.bytes));
  const sl = config(`slices:
  - sources:
      - model: ${a}
        layer_range: [0, 2]
      - model: ${b}
        layer_range: [1, 3]
merge_method: linear
parameters:
  weight: 1.0
`);
  const os = out();
  const r = await mergeModels(sl, { out: os });
  assert.equal(r.layers, 2);
  assert.equal(readJson(join(os, "config.json")).num_hidden_layers, 2);
});

async function rejects(yaml: string, pattern: RegExp) {
  const cfg = config(yaml);
  await assert.rejects(mergeModels(cfg, { out: out() }), (e: Error) => {
    assert.ok(e instanceof RecipeError, `${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(cfg), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test("bad configs: one-line errors naming the config", async () => {
  const wide = await fixture(root, { family: "llama", layers: 3, dims: { intermediate: 192 } });
  const holes = await fixture(root, { family: "llama", layers: 3 });
  await editTensors(holes, (ts) => ts.filter((t) => t.name !== "model.norm.weight"));
  const two = (m1: string, m2: string, method: string, extra = "") =>
    `models:\n  - model: ${m1}\n    parameters:\n      weight: 0.5\n  - model: ${m2}\n    parameters:\n      weight: 0.5\nmerge_method: ${method}\n${extra}`;
  await rejects(
    two(a, wide, "linear"),
    /tensor model\.layers\.0\.mlp\.down_proj\.weight is \[64, 128\] in .* but \[64, 192\] in /,
  );
  await rejects(two(a, holes, "linear"), /has no tensor model\.norm\.weight/);
  // A config whose sizes no longer describe its tensors would be copied into the merge: refused.
  const lying = await fixture(root, { family: "llama", layers: 3 });
  writeFileSync(
    join(lying, "config.json"),
    JSON.stringify({ ...readJson(join(lying, "config.json")), num_key_value_heads: 4 }),
  );
  await rejects(
    two(lying, a, "linear"),
    /k_proj\.weight is \[32, 64\], but config\.json's sizes make it \[64, 64\]/,
  );
  await rejects(two(a, b, "frobnicate"), /unknown merge_method frobnicate \(known: .*linear.*\)/);
  await rejects(
    two(a, b, "ties", `base_model: ${c}\nparameters:\n  density: 1.5\n`),
    /parameter density = 1\.5 .* is outside \(0, 1\]/,
  );
  await rejects(two(a, b, "ties"), /merge_method ties needs a base_model/);
  await rejects(
    `models:\n  - model: ${a}\n  - model: ${b}\n  - model: ${c}\nbase_model: ${a}\nmerge_method: slerp\nparameters:\n  t: 0.5\n`,
    /slerp takes exactly 2 models, got 3/,
  );
  await rejects(
    two(a, b, "linear", "parameters:\n  normalize: true\n").replace(/weight: 0\.5/g, "weight: 0.0"),
    /weight|zero/,
  );
  await rejects(
    two(a, b, "linear", "tokenizer:\n  source: union\n  tokens: []\n"),
    /tokenizer\.tokens must be a mapping/,
  );
  await rejects("merge_method: linear\n", /needs models .* or slices/);
  await rejects(
    two(a, b, "linear", "chat_template: exaone\n"),
    /chat_template exaone: not a Jinja template, "auto", or a built-in name \(chatml, llama2/,
  );
  await rejects(two(a, join(root, "nowhere"), "linear"), /model .*nowhere: .*no such folder/);
  // --dry-run checks as much as a real run does.
  const dry = config(two(a, b, "linear", "tokenizer_source: /elsewhere\n"));
  await assert.rejects(
    mergeModels(dry, { dryRun: true }),
    /tokenizer_source \/elsewhere is not a model of this config/,
  );
  // Weights that cancel leave normalize nothing to divide by: the dry run says so, as the run does.
  const cancel = two(a, b, "linear", "parameters:\n  normalize: true\n")
    .replace("weight: 0.5", "weight: 1.0")
    .replace("weight: 0.5", "weight: -1.0");
  await assert.rejects(
    mergeModels(config(cancel), { dryRun: true }),
    /weight sums to 0 .* nothing to divide by/,
  );
  const arithmetic = `models:\n  - model: ${a}\n  - model: ${b}\n    parameters:\n      weight: 1.0\n  - model: ${c}\n    parameters:\n      weight: -1.0\nbase_model: ${a}\nmerge_method: task_arithmetic\nparameters:\n  normalize: true\n`;
  await assert.rejects(
    mergeModels(config(arithmetic), { dryRun: true }),
    /weight sums to 0 .* nothing to divide by/,
  );
  const karcher = `models:\n  - model: ${a}\n  - model: ${b}\nmerge_method: karcher\nparameters:\n  max_iter: 2.5\n`;
  await assert.rejects(
    mergeModels(config(karcher), { dryRun: true }),
    /max_iter must be an integer, got 2\.5/,
  );
  const w = "    parameters:\n      weight: 1.0\n";
  const nuslerp = `models:\n  - model: ${a}\n${w}  - model: ${b}\n${w}  - model: ${c}\n${w}merge_method: nuslerp\n`;
  await assert.rejects(
    mergeModels(config(nuslerp), { dryRun: true }),
    /nuslerp: takes exactly 2 models besides base_model, got 3 \(no base_model\)/,
  );
});

test("passthrough configs run through the surgery writer; the CLI prints one-line errors", () => {
  const cfg = config(
    `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 3]\n  - sources:\n      - model: ${a}\n        layer_range: [1, 3]\nmerge_method: passthrough\n`,
  );
  const o = out();
  const r = runCli(["merge", cfg, "-o", o, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).layers, 5);
  const again = runCli(["merge", cfg, "-o", o]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `deepen: output ${o} exists; pass --force to replace it\n`);
});

test("names of the object prototype are unknown names: merge_method, parameters, dtype", () => {
  const PROTOTYPE_NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty"];
  const two = (method: string, extra = "", param = "weight") =>
    config(
      `models:\n  - model: ${a}\n    parameters:\n      ${param}: 0.5\n  - model: ${b}\n    parameters:\n      weight: 0.5\nmerge_method: ${method}\n${extra}`,
    );
  const refused = (cfg: string, line: string, args: string[] = []) => {
    const o = out();
    const r = runCli(["merge", cfg, "-o", o, ...args]);
    assert.equal(r.stderr, `deepen: ${cfg}: ${line}\n`);
    assert.equal(r.code, 1);
    assert.equal(existsSync(o), false);
  };
  for (const name of PROTOTYPE_NAMES) {
    refused(
      two(name),
      `unknown merge_method ${name} (known: linear, slerp, nuslerp, task_arithmetic, ties, dare_ties, dare_linear, breadcrumbs, breadcrumbs_ties, della, della_linear, model_stock, karcher, passthrough)`,
    );
    // Unused parameters are ignored with a warning, as mergekit ignores them; never read as a setting.
    const cfg = two("linear", `parameters:\n  ${name}: 1\n`);
    const r = runCli(["merge", cfg, "-o", out()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      `deepen: warning: ${cfg}: parameter ${name} is not used by merge_method linear (it takes normalize, weight); ignored, as mergekit ignores it [parameters]\n`,
    );
    const noWeight = two("linear", "", name);
    const o = out();
    const m = runCli(["merge", noWeight, "-o", o]);
    assert.equal(m.code, 1);
    assert.match(
      m.stderr,
      new RegExp(`^deepen: warning: .*parameter ${name} is not used .*\\[models\\[0\\]\\.parameters\\]\\n`),
    );
    assert.match(
      m.stderr,
      /parameter weight for model .*llama-0 is required by this merge_method and not given\n$/,
    );
    assert.equal(existsSync(o), false);
    refused(two("linear", `dtype: ${name}\n`), `dtype ${name}: expected one of bf16, f16, f32`);
  }
  const up = runCli(["upscale", a, "-o", out(), "--dtype", "constructor"]);
  assert.equal(up.stderr, "deepen: --dtype constructor: expected one of bf16, f16, f32\n");
  assert.equal(up.code, 2);
});

test("a merge of hundreds of models takes shorter chunks instead of outgrowing the kernels' memory", async () => {
  // 200 inputs at the default 4M-element chunk would need 3 × 201 × 16 MiB of buffers (9.4 GiB).
  assert.ok(chunkFor(200, MERGE_CHUNK) * DEPTH * 201 * 4 <= MERGE_BUFFER_BYTES);
  assert.equal(chunkFor(3, MERGE_CHUNK), MERGE_CHUNK);
  const entries = [a, ...Array.from({ length: 199 }, () => b)]
    .map((m) => `  - model: ${m}\n    parameters:\n      weight: 1.0\n`)
    .join("");
  const o = out();
  await mergeModels(config(`models:\n${entries}merge_method: linear\n`), { out: o });
  const [ta, tb, to] = [await modelTensors(a), await modelTensors(b), await modelTensors(o)];
  const name = "model.layers.1.mlp.up_proj.weight";
  const [xa, xb, xo] = [ta, tb, to].map((t) => {
    const { entry, bytes } = t.get(name)!;
    const x = new Float32Array(bytes.length / DTYPE_BYTES[entry.dtype]);
    decodeFloats(entry.dtype, bytes, x);
    return x;
  });
  // The output is written in the inputs' dtype: compare within its rounding.
  for (let i = 0; i < xo!.length; i += 97)
    assert.ok(
      Math.abs(xo![i]! - (xa![i]! + 199 * xb![i]!) / 200) <= 1e-2 * Math.abs(xo![i]!) + 1e-6,
      `element ${i}`,
    );
});
