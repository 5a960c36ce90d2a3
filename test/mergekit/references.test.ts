// Model references in recipes and merge configs, resolved end to end: a revision picks its snapshot
// of a model in the Hugging Face cache, and MODEL+ADAPTER reads the model with the adapter merged in.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { mergeLora } from "../../src/checkpoint/lora/mergeLora.js";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { upscale } from "../../src/surgery/upscale.js";
import { freshHubEnv } from "../checkpoint/hub/hubEnv.js";
import { adapterConfig, linearPair, writeAdapter } from "../fixtures/loraAdapter.js";
import { expectSameTensors, fixture, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const home = freshHubEnv(root, "http://127.0.0.1:9"); // a closed port: any request fails the test
process.env.HF_HUB_OFFLINE = "1";
process.env.DEEPEN_CACHE = join(root, "deepen-cache");
const a = await fixture(root, { family: "llama", layers: 3, seed: 1 });
const b = await fixture(root, { family: "llama", layers: 3, seed: 2 });

// org/m in the cache: refs/main is a's weights, refs/v1 b's, each file a link into blobs/ as huggingface_hub keeps them.
const repo = join(home, "hub", "models--org--m");
const MAIN = "1".repeat(40);
const V1 = "2".repeat(40);
for (const [commit, folder] of [
  [MAIN, a],
  [V1, b],
] as const) {
  const blob = join(repo, "blobs", commit);
  mkdirSync(blob, { recursive: true });
  cpSync(folder, blob, { recursive: true });
  mkdirSync(join(repo, "snapshots", commit), { recursive: true });
  for (const f of readdirSync(folder))
    symlinkSync(`../../blobs/${commit}/${f}`, join(repo, "snapshots", commit, f));
}
mkdirSync(join(repo, "refs"), { recursive: true });
writeFileSync(join(repo, "refs", "main"), MAIN);
writeFileSync(join(repo, "refs", "v1"), V1);

let n = 0;
const file = (yaml: string) => {
  const p = join(root, `cfg-${n++}.yml`);
  writeFileSync(p, yaml);
  return p;
};
const out = () => join(root, `out-${n++}`);

const stack = (model: string, extra = "") =>
  `slices:\n  - sources:\n      - model: ${model}\n${extra}        layer_range: [0, 3]\n  - sources:\n      - model: ${model}\n${extra}        layer_range: [1, 3]\nmerge_method: passthrough\n`;

test("a revision (@REV, a revision: key, the long form) picks its snapshot from the cache", async () => {
  const want = out();
  await upscale({ recipe: file(stack(b)), out: want });
  const forms = [
    stack("org/m@v1"),
    stack("org/m", "        revision: v1\n"),
    stack(`{model: {path: org/m, revision: "${V1}"}}`),
  ];
  for (const yaml of forms) {
    const o = out();
    await upscale({ recipe: file(yaml), out: o });
    await expectSameTensors(o, want);
  }
  const main = out();
  await upscale({ recipe: file(stack("org/m")), out: main });
  const fromA = out();
  await upscale({ recipe: file(stack(a)), out: fromA });
  await expectSameTensors(main, fromA);
  await assert.rejects(
    upscale({ recipe: file(stack("org/m@v1", "        revision: v2\n")), out: out() }),
    /revision v2 disagrees with the model's @v1/,
  );
  await assert.rejects(
    upscale({ recipe: file(stack(`{model: {path: org/m, revision: ${V1}}}`)), out: out() }),
    /slices\[0\]\.sources\[0\]\.model\.revision was read as a number: quote it/,
  );
});

test("MODEL+ADAPTER in a merge config and in a passthrough recipe reads the model with the adapter merged", async () => {
  const pairs = [0, 1, 2].flatMap((l) => [
    ...linearPair(`model.layers.${l}.self_attn.q_proj`, 4, 64, 64, 10 + l),
    ...linearPair(`model.layers.${l}.self_attn.v_proj`, 4, 32, 64, 20 + l),
  ]);
  const adapter = await writeAdapter(join(root, "adapter"), adapterConfig(), pairs);
  const adapted = out();
  await mergeLora(a, adapter, adapted);

  const linear = (first: string) =>
    `models:\n  - model: ${first}\n    parameters:\n      weight: 0.5\n  - model: ${b}\n    parameters:\n      weight: 0.5\nmerge_method: linear\n`;
  const [viaRef, viaFolder, viaLongForm] = [out(), out(), out()];
  await mergeModels(file(linear(`${a}+${adapter}`)), { out: viaRef });
  await mergeModels(file(linear(adapted)), { out: viaFolder });
  await mergeModels(file(linear(`{model: {path: ${a}}, lora: {path: ${adapter}}}`)), { out: viaLongForm });
  await expectSameTensors(viaRef, viaFolder);
  await expectSameTensors(viaLongForm, viaFolder);

  const [stackRef, stackFolder] = [out(), out()];
  await upscale({ recipe: file(stack(`${a}+${adapter}`)), out: stackRef });
  await upscale({ recipe: file(stack(adapted)), out: stackFolder });
  await expectSameTensors(stackRef, stackFolder);

  // On the command line too: upscale (DUS) of MODEL+ADAPTER reads the cached merge, with no new one.
  const cli = runCli(["upscale", `${a}+${adapter}`, "-o", out(), "--layers", "4", "--json"]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stderr, "");
  assert.equal(JSON.parse(cli.stdout).layers, 4);

  // An adapter that does not fit the model is refused by name before anything is written.
  const wrong = await writeAdapter(join(root, "wrong"), adapterConfig({ target_modules: ["gate_x"] }), [
    ...linearPair("model.layers.0.self_attn.gate_x", 4, 64, 64, 1),
  ]);
  const o = out();
  await assert.rejects(mergeModels(file(linear(`${a}+${wrong}`)), { out: o }), /gate_x/);
});
