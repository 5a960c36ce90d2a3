import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { RecipeError } from "../../src/errors.js";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { upscale } from "../../src/surgery/upscale.js";
import { tempDir } from "../helpers.js";

const root = tempDir();
let n = 0;
const file = (yaml: string) => {
  const p = join(root, `cfg-${n++}.yml`);
  writeFileSync(p, yaml);
  return p;
};

async function refused(run: (f: string) => Promise<unknown>, yaml: string, line: string) {
  const f = file(yaml);
  await assert.rejects(run(f), (e: Error) => {
    assert.ok(e instanceof RecipeError, e.message);
    assert.equal(e.message, `${f}: ${line}`);
    return true;
  });
}

test("top-level keys: mergekit's modules is refused with its reason, a misspelt key gets a suggestion", async () => {
  const merge = (f: string) => mergeModels(f, { out: join(root, "never") });
  const recipe = (f: string) => upscale({ recipe: f, out: join(root, "never") });
  for (const run of [merge, recipe]) {
    await refused(
      run,
      "modules:\n  text_decoder:\n    models: []\nmerge_method: passthrough\n",
      "modules (per-module merges of multimodal models) is not supported: deepen merges decoder-only language models; merge the language model with models or slices",
    );
    await refused(
      run,
      "merge_method: passthrough\nbase_modle: x\n",
      "unknown key base_modle (did you mean base_model?)",
    );
    await refused(run, "merge_method: passthrough\nfrobnicate: 1\n", "unknown key frobnicate");
  }
});
