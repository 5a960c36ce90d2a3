import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { fixture, modelTensors, tempDir } from "../helpers.js";

const root = tempDir();
const [a, b, c] = (await Promise.all(
  [1, 2, 3].map((seed) => fixture(root, { family: "llama", layers: 3, seed })),
)) as [string, string, string];
let n = 0;
const config = (yaml: string) => {
  const p = join(root, `cfg-${n++}.yml`);
  writeFileSync(p, yaml);
  return p;
};
const source = (m: string, range: string) =>
  `      - model: ${m}\n        layer_range: ${range}\n        parameters:\n          weight: 0.5\n`;
const slice = (range: string, base?: string) =>
  `  - sources:\n${source(a, range)}${source(b, range)}${source(c, range)}` +
  (base ? `    base_model: ${base}\n` : "");

async function merged(yaml: string) {
  const out = join(root, `out-${n++}`);
  const warnings: string[] = [];
  await mergeModels(config(yaml), { out, onWarning: (w) => warnings.push(w) });
  return { tensors: await modelTensors(out), warnings };
}

test("a slice's base_model stands in for the config's, layer by layer; residual_weight is ignored with a warning", async () => {
  const global = await merged(`slices:\n${slice("[0, 3]")}merge_method: task_arithmetic\nbase_model: ${c}\n`);
  const perSlice = await merged(
    `slices:\n${slice("[0, 2]", c)}    residual_weight: 0.5\n${slice("[2, 3]", c)}merge_method: task_arithmetic\n`,
  );
  for (const [name, t] of global.tensors) assert.ok(t.bytes.equals(perSlice.tensors.get(name)!.bytes), name);
  assert.equal(perSlice.warnings.length, 1);
  assert.match(
    perSlice.warnings[0]!,
    /slices\[0\]\.residual_weight is not read by any mergekit merge method; ignored$/,
  );

  // Different bases per slice: each layer is merged against its own slice's base, the head against
  // the first slice's and the tail against the last's, as mergekit plans them.
  const mixed = await merged(
    `slices:\n${slice("[0, 2]", c)}${slice("[2, 3]", a)}merge_method: task_arithmetic\n`,
  );
  const baseA = await merged(`slices:\n${slice("[0, 3]")}merge_method: task_arithmetic\nbase_model: ${a}\n`);
  let fromC = 0;
  let fromA = 0;
  for (const [name, t] of mixed.tensors) {
    const layer = /\.layers\.(\d+)\./.exec(name)?.[1];
    const tail = name === "model.norm.weight" || name === "lm_head.weight";
    const againstC = layer === undefined ? !tail : Number(layer) < 2;
    assert.ok(t.bytes.equals((againstC ? global : baseA).tensors.get(name)!.bytes), name);
    if (againstC) fromC++;
    else fromA++;
  }
  assert.ok(fromC > 0 && fromA > 0);
});
