import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { adapterConfig, linearPair, writeAdapter } from "../fixtures/loraAdapter.js";
import { fixture, readJson, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "mistral", layers: 2, dtype: "BF16" });
const pairs = ["q_proj", "v_proj"].flatMap((m, i) =>
  linearPair(`model.layers.0.self_attn.${m}`, 4, m === "q_proj" ? 64 : 32, 64, i),
);
const adapter = await writeAdapter(join(root, "my-adapter"), adapterConfig({ lora_alpha: 16 }), pairs);

test("lora merge prints one summary line; inspect reads the output and its lineage", () => {
  const out = join(root, "merged");
  const r = runCli(["lora", "merge", model, adapter, "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^my-adapter into mistral-\d+: 2 modules changed, scale 4, [\d.]+K parameters; wrote .*merged in [\d.]+ s\n$/,
  );
  const i = runCli(["inspect", out]);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /architecture: MistralForCausalLM/);
  assert.match(i.stdout, /lineage:\n {2}lora by deepen .* from mistral-\d+ \(2 layers\) -> 2 layers/);
  assert.match(readFileSync(join(out, "README.md"), "utf8"), /deepen lora merge .* -o .*merged/);
});

test("--dtype float32 converts every float tensor; --json prints the result", () => {
  const out = join(root, "wide");
  const r = runCli(["lora", "merge", model, adapter, "-o", out, "--dtype", "float32", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.modules, 2);
  assert.deepEqual(j.scales, [4]);
  assert.equal(readJson(join(out, "config.json")).torch_dtype, "float32");
  const dtypes = JSON.parse(runCli(["inspect", out, "--json"]).stdout).dtypes;
  assert.deepEqual(Object.keys(dtypes), ["F32"]);
});

test("an existing output needs --force, which replaces only what deepen wrote", () => {
  const out = join(root, "exists");
  assert.equal(runCli(["lora", "merge", model, adapter, "-o", out]).code, 0);
  const again = runCli(["lora", "merge", model, adapter, "-o", out]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `deepen: output ${out} exists; pass --force to replace it\n`);
  assert.equal(runCli(["lora", "merge", model, adapter, "-o", out, "--force"]).code, 0);
  const foreign = join(root, "foreign");
  mkdirSync(foreign);
  writeFileSync(join(foreign, "notes.txt"), "mine");
  const refused = runCli(["lora", "merge", model, adapter, "-o", foreign, "--force"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^deepen: --force will not replace .*foreign: it holds 1 entry/);
  assert.equal(readFileSync(join(foreign, "notes.txt"), "utf8"), "mine");
  const inside = runCli(["lora", "merge", model, adapter, "-o", join(adapter, "out")]);
  assert.equal(inside.code, 1);
  assert.match(inside.stderr, /is inside the input folder/);
});

test("a refused adapter is one line on stderr, exit 1, no output; a bad --dtype is a usage error", async () => {
  const bad = await writeAdapter(
    join(root, "bad-adapter"),
    adapterConfig(),
    linearPair("model.layers.9.self_attn.q_proj", 4, 64, 64, 5),
  );
  const out = join(root, "never");
  const r = runCli(["lora", "merge", model, bad, "-o", out]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^deepen: .*adapter_model\.safetensors: tensor .*layers\.9\.self_attn\.q_proj\.lora_A\.weight: adapts module/,
  );
  assert.equal(r.stderr.split("\n").length, 2);
  assert.equal(existsSync(out), false);
  const d = runCli(["lora", "merge", model, adapter, "-o", out, "--dtype", "int8"]);
  assert.equal(d.code, 2);
  assert.equal(existsSync(out), false);
});
