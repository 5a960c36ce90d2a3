import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { didYouMean, editDistance } from "../../src/mergekit/didYouMean.js";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { upscale } from "../../src/surgery/upscale.js";
import { expectSameTensors, fixture, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const a = await fixture(root, { family: "llama", layers: 3, seed: 1 });
const b = await fixture(root, { family: "llama", layers: 3, seed: 2 });
const c = await fixture(root, { family: "llama", layers: 3, seed: 3 });
let n = 0;
const config = (yaml: string) => {
  const p = join(root, `cfg-${n++}.yml`);
  writeFileSync(p, yaml);
  return p;
};
const out = () => join(root, `out-${n++}`);

test("edit distance counts a swap of neighbours as one edit; did-you-mean only for near misses", () => {
  assert.equal(editDistance("wieght", "weight"), 1);
  assert.equal(editDistance("densty", "density"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(didYouMean("wieght", ["normalize", "weight"]), "weight");
  assert.equal(didYouMean("Weight", ["weight"]), undefined, "case only is the same word, not a slip");
  assert.equal(didYouMean("density", ["normalize", "weight"]), undefined);
  assert.equal(didYouMean("t", ["lambda", "t"]), undefined, "an exact name is not a suggestion");
  assert.equal(didYouMean("lamda", ["lambda", "t"]), "lambda");
});

test("model_stock with weights and linear with density run as if the parameters were absent, one warning per name", async () => {
  const warnings: string[] = [];
  const withWeights = config(
    `models:\n  - model: ${a}\n    parameters:\n      weight: 0.3\n  - model: ${b}\n    parameters:\n      weight: 0.7\nbase_model: ${c}\nmerge_method: model_stock\n`,
  );
  const plain = config(
    `models:\n  - model: ${a}\n  - model: ${b}\nbase_model: ${c}\nmerge_method: model_stock\n`,
  );
  const [o1, o2] = [out(), out()];
  await mergeModels(withWeights, { out: o1, onWarning: (w) => warnings.push(w) });
  await mergeModels(plain, { out: o2, onWarning: (w) => warnings.push(`unexpected: ${w}`) });
  await expectSameTensors(o1, o2);
  assert.deepEqual(warnings, [
    `${withWeights}: parameter weight is not used by merge_method model_stock (it takes filter_wise); ignored, as mergekit ignores it [models[0].parameters, models[1].parameters]`,
  ]);

  const dense = config(
    `models:\n  - model: ${a}\n    parameters:\n      weight: 1\n      density: 0.5\n  - model: ${b}\n    parameters:\n      weight: 1\n      density: 0.5\nparameters:\n  density: 0.9\nmerge_method: linear\n`,
  );
  const light = config(
    `models:\n  - model: ${a}\n    parameters:\n      weight: 1\n  - model: ${b}\n    parameters:\n      weight: 1\nmerge_method: linear\n`,
  );
  const [o3, o4] = [out(), out()];
  const seen: string[] = [];
  await mergeModels(dense, { out: o3, onWarning: (w) => seen.push(w) });
  await mergeModels(light, { out: o4 });
  await expectSameTensors(o3, o4);
  assert.equal(seen.length, 1);
  assert.match(
    seen[0]!,
    /parameter density is not used by merge_method linear .*\[parameters, models\[0\]\.parameters, models\[1\]\.parameters\]$/,
  );
});

test("the CLI warns on stderr, with a did-you-mean for a misspelt parameter, and still merges", () => {
  const cfg = config(
    `models:\n  - model: ${a}\n    parameters:\n      weight: 1\n  - model: ${b}\n    parameters:\n      weight: 1\nparameters:\n  normalise: false\nmerge_method: linear\n`,
  );
  const r = runCli(["merge", cfg, "-o", out()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    `deepen: warning: ${cfg}: parameter normalise is not used by merge_method linear (it takes normalize, weight); ignored, as mergekit ignores it [parameters]; did you mean normalize?\n`,
  );
});

test("passthrough recipes ignore parameters other than scale, with a warning, and keep scale", async () => {
  const recipe = (params: string) =>
    config(
      `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 3]\n        parameters:\n          ${params}\n  - sources:\n      - model: ${a}\n        layer_range: [1, 3]\nmerge_method: passthrough\n`,
    );
  const warnings: string[] = [];
  const noisy = recipe("weight: 0.5\n          scale: 0.5\n          scael: 2");
  const quiet = recipe("scale: 0.5");
  const [o1, o2] = [out(), out()];
  await upscale({ recipe: noisy, out: o1, onWarning: (w) => warnings.push(w) });
  await upscale({ recipe: quiet, out: o2, onWarning: (w) => warnings.push(`unexpected: ${w}`) });
  await expectSameTensors(o1, o2);
  assert.deepEqual(warnings, [
    `${noisy}: parameter weight is not used by merge_method passthrough (it takes scale); ignored, as mergekit ignores it [slices[0].sources[0].parameters]`,
    `${noisy}: parameter scael is not used by merge_method passthrough (it takes scale); ignored, as mergekit ignores it [slices[0].sources[0].parameters]; did you mean scale?`,
  ]);
  const r = runCli(["upscale", "--recipe", noisy, "-o", out()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("deepen: warning: ")).length, 2);
});
