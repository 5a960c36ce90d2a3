import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeGgufModel } from "../fixtures/ggufModel.js";
import { runCli, tempDir } from "../helpers.js";

const root = tempDir();
const base = join(root, "base.gguf");
await writeGgufModel(base, { kvHeadsArray: true });

test("deepen upscale model.gguf -o out.gguf writes a GGUF and says what it did", () => {
  const out = join(root, "up.gguf");
  const r = runCli(["upscale", base, "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^deepen-gguf-test \(llama, 8 layers\) -> 12 layers, /);
  assert.match(r.stdout, /0-5 <- deepen-gguf-test 0-5\n {2}6-11 <- deepen-gguf-test 2-7/);
  assert.match(r.stdout, /wrote .*up\.gguf in/);
  const again = runCli(["upscale", base, "-o", out]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim().split("\n").length, 1);
  assert.match(again.stderr, /exists; pass --force to replace it/);
});

test("--dry-run --json on a GGUF prints the plan and writes nothing", () => {
  const out = join(root, "dry.gguf");
  const r = runCli([
    "upscale",
    base,
    "-o",
    out,
    "--method",
    "expand",
    "--blocks",
    "2",
    "--dry-run",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.layers, 10);
  assert.deepEqual(j.new_layers, [4, 9]);
  assert.equal(j.sources[0].architecture, "llama");
  assert.ok(!existsSync(out));
});

test("a GGUF input needs a .gguf output; the error is one line", () => {
  const r = runCli(["upscale", base, "-o", join(root, "folder-out")]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /a GGUF model is up-scaled into a \.gguf file/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("a model folder is not up-scaled into a .gguf name: the error points to deepen export gguf", () => {
  const out = join(root, "grown.gguf");
  const r = runCli(["upscale", "assets/deepen-tiny", "-o", out]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /deepen export gguf/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.ok(!existsSync(out));
});

test("deepen inspect model.gguf shows the model, its quantization mix and tokenizer", () => {
  const r = runCli(["inspect", base]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /architecture: llama/);
  assert.match(r.stdout, /layers: 8\n/);
  assert.match(r.stdout, /file type: Q4_0/);
  assert.match(r.stdout, /Q4_0 +40 tensors/);
  assert.match(r.stdout, /Q8_0 +18 tensors/);
  assert.match(r.stdout, /F32 +17 tensors/);
  assert.match(r.stdout, /tokenizer: gpt2 \(pre gpt-2\), 288 tokens, bos 256, eos 257/);
  assert.match(r.stdout, /context length: 256, embedding length: 64, feed-forward: 128/);
  assert.match(r.stdout, /heads: 4, KV heads: per layer \[2, 2, 2, 2, 2, 2, 2, 2\]/);
  assert.match(r.stdout, /tokenizer\.ggml\.tokens = \[STRING × 288\]/);
  assert.match(r.stdout, /layers 0-7: 9 tensors each\n {4}attn_norm\.weight {2}F32 \[64\]/);
  const j = JSON.parse(runCli(["inspect", base, "--json"]).stdout);
  assert.equal(j.format, "gguf");
  assert.equal(j.layers, 8);
  assert.deepEqual(j.types.Q4_0.tensors, 40);
  assert.equal(j.tokenizer.vocab_size, 288);
  assert.equal(j.parameters, 288 * 64 * 2 + 64 + 8 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 128 * 3 + 128));
});

test("deepen upscale --recipe with GGUF models writes a GGUF", () => {
  const recipe = join(root, "r.yml");
  writeFileSync(
    recipe,
    "merge_method: passthrough\nslices:\n  - sources: [{ model: base.gguf, layer_range: [0, 5] }]\n" +
      "  - sources: [{ model: base.gguf, layer_range: [3, 8] }]\n",
  );
  const out = join(root, "recipe.gguf");
  const r = runCli(["upscale", "--recipe", recipe, "-o", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.method, "passthrough");
  assert.equal(j.layers, 10);
  assert.match(runCli(["inspect", out]).stdout, /layers: 10\n/);
});
