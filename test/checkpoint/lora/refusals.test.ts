import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { mergeLora } from "../../../src/checkpoint/lora/mergeLora.js";
import { CheckpointError } from "../../../src/errors.js";
import {
  adapterConfig,
  type AdapterTensor,
  linearPair,
  P,
  randomValues,
  writeAdapter,
} from "../../fixtures/loraAdapter.js";
import { fixture, tempDir } from "../../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "mistral", layers: 2, dtype: "F32" });
let n = 0;
const q0 = "model.layers.0.self_attn.q_proj";

/** The merge is refused with one CheckpointError line naming `file` and matching `detail`, and writes nothing. */
async function refused(
  config: Record<string, unknown>,
  tensors: AdapterTensor[],
  file: string,
  detail: RegExp,
) {
  const dir = await writeAdapter(join(root, `adapter-${n++}`), config, tensors);
  const parent = join(root, `outs-${n++}`);
  const out = join(parent, "merged");
  const err = await mergeLora(model, dir, out).then(
    () => assert.fail("the merge was not refused"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CheckpointError, String(err));
  assert.equal(err.file, join(dir, file));
  assert.match(err.message, detail);
  assert.doesNotMatch(err.message, /\n/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(existsSync(parent) ? readdirSync(parent) : [], [], "no temporary folder left");
  return dir;
}

test("a module the model does not have", async () => {
  await refused(
    adapterConfig(),
    linearPair("model.layers.5.self_attn.q_proj", 4, 64, 64, 1),
    "adapter_model.safetensors",
    /tensor base_model\.model\.model\.layers\.5\.self_attn\.q_proj\.lora_A\.weight: adapts module .* has no tensor model\.layers\.5\.self_attn\.q_proj\.weight$/,
  );
});

test("factors whose product does not have the weight's shape", async () => {
  await refused(
    adapterConfig(),
    linearPair(q0, 4, 64, 48, 2),
    "adapter_model.safetensors",
    /q_proj\.lora_A\.weight: with .*lora_B\.weight it makes a \[64, 48\] update, but .* is \[64, 64\]$/,
  );
});

test("lora_A without lora_B, and ranks that disagree", async () => {
  await refused(
    adapterConfig(),
    linearPair(q0, 4, 64, 64, 3).slice(0, 1),
    "adapter_model.safetensors",
    /lora_A\.weight: has no .*lora_B\.weight beside it/,
  );
  const [a, b] = linearPair(q0, 4, 64, 64, 4);
  await refused(
    adapterConfig(),
    [a!, { ...b!, shape: [64, 2], values: randomValues(128, 5) }],
    "adapter_model.safetensors",
    /lora_B\.weight: shape \[64, 2\] has rank 2, but .*lora_A\.weight has rank 4/,
  );
});

test("a replacement tensor for something the model lacks, or of another shape (a resized vocabulary)", async () => {
  await refused(
    adapterConfig(),
    [{ name: `${P}score.weight`, shape: [2, 64], values: randomValues(128, 6) }],
    "adapter_model.safetensors",
    /tensor base_model\.model\.score\.weight: replaces score\.weight, which .* does not have/,
  );
  await refused(
    adapterConfig(),
    [{ name: `${P}lm_head.weight`, shape: [300, 64], values: randomValues(300 * 64, 7) }],
    "adapter_model.safetensors",
    /shape \[300, 64\], but lm_head\.weight .* is \[288, 64\] \(a resized vocabulary/,
  );
});

test("settings deepen does not apply: DoRA, trained biases, another PEFT type, a modified base", async () => {
  const pair = linearPair(q0, 4, 64, 64, 8);
  await refused(adapterConfig({ use_dora: true }), pair, "adapter_config.json", /use_dora: DoRA adapters/);
  await refused(
    adapterConfig({ bias: "all" }),
    pair,
    "adapter_config.json",
    /bias "all": deepen merges adapters trained with bias "none" only/,
  );
  await refused(
    adapterConfig({ peft_type: "IA3" }),
    pair,
    "adapter_config.json",
    /peft_type "IA3": deepen merges LoRA adapters only/,
  );
  await refused(
    adapterConfig({ init_lora_weights: "pissa_niter_4" }),
    pair,
    "adapter_config.json",
    /belongs to a modified base model/,
  );
  await refused(
    adapterConfig({ r: 0 }),
    pair,
    "adapter_config.json",
    /^.*: r 0: expected a positive integer/,
  );
  await refused(
    adapterConfig(),
    [...pair, { name: `${P}${q0}.lora_magnitude_vector`, shape: [64], values: randomValues(64, 9) }],
    "adapter_model.safetensors",
    /lora_magnitude_vector: a DoRA magnitude vector/,
  );
});

test("adapter_model.bin without safetensors: convert it first", async () => {
  const dir = join(root, "pickle");
  await writeAdapter(dir, adapterConfig(), linearPair(q0, 4, 64, 64, 10));
  rmSync(join(dir, "adapter_model.safetensors"));
  writeFileSync(join(dir, "adapter_model.bin"), "not read");
  await assert.rejects(mergeLora(model, dir, join(root, "never")), (e: unknown) => {
    assert.ok(e instanceof CheckpointError);
    assert.equal(e.file, join(dir, "adapter_model.bin"));
    assert.match(e.message, /convert this pickle to adapter_model\.safetensors first/);
    return true;
  });
  assert.equal(existsSync(join(root, "never")), false);
});
