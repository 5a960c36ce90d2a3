import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readGguf } from "../../src/checkpoint/gguf/readGguf.js";
import { ArchitectureError, CheckpointError, GgufExportError, OutputError } from "../../src/errors.js";
import { exportGguf } from "../../src/surgery/exportGguf.js";
import { fixture, readJson, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const llama = await fixture(root, { family: "llama", layers: 1 });

/** A copy of the llama fixture's folder with tokenizer.json edited. */
async function withTokenizer(edit: (t: Record<string, unknown>) => void): Promise<string> {
  const dir = await fixture(root, { family: "llama", layers: 1 });
  const t = readJson(join(dir, "tokenizer.json"));
  edit(t);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(t));
  return dir;
}

const noOutput = (dir: string) => assert.deepEqual(readdirSync(dir), []);

test("a family with no llama.cpp table row (Mixtral) and an unknown architecture are refused, nothing written", async () => {
  const out = tempDir();
  const mixtral = await fixture(root, { family: "mixtral", layers: 1 });
  await assert.rejects(exportGguf(mixtral, join(out, "m.gguf")), (e: Error) => {
    assert.ok(e instanceof ArchitectureError);
    assert.match(e.message, /MixtralForCausalLM cannot be exported to GGUF/);
    return true;
  });
  const other = await fixture(root, {
    family: "llama",
    layers: 1,
    config: { architectures: ["FooForCausalLM"] },
  });
  await assert.rejects(exportGguf(other, join(out, "m.gguf")), /FooForCausalLM.*not supported/);
  noOutput(out);
});

test("a folder whose tensors disagree with its config.json is refused before anything is written", async () => {
  const out = tempDir();
  // The config counts 3 layers, the tensors hold 2: llama.cpp would refuse the file at load.
  const short = await fixture(root, { family: "llama", layers: 2, config: { num_hidden_layers: 3 } });
  await assert.rejects(exportGguf(short, join(out, "a.gguf")), (e: Error) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /layer/);
    return true;
  });
  // A q_proj of the wrong height would be reordered by the wrong head size.
  const wide = await fixture(root, { family: "llama", layers: 1, config: { num_attention_heads: 8 } });
  await assert.rejects(exportGguf(wide, join(out, "b.gguf")), (e: Error) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /q_proj/);
    return true;
  });
  noOutput(out);
});

test("a tokenizer llama.cpp cannot express is refused, naming what it is", async () => {
  const out = tempDir();
  const whitespace = await withTokenizer((t) => (t.pre_tokenizer = { type: "Whitespace" }));
  await assert.rejects(exportGguf(whitespace, join(out, "m.gguf")), (e: Error) => {
    assert.ok(e instanceof CheckpointError);
    assert.match(
      e.message,
      /tokenizer\.json: pre-tokenizer \{"type":"Whitespace"\} is not one llama\.cpp recognises.*cannot be expressed/,
    );
    return true;
  });
  const split = await withTokenizer(
    (t) =>
      (t.pre_tokenizer = {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: "\\w+" }, behavior: "Isolated", invert: false },
          { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      }),
  );
  await assert.rejects(
    exportGguf(split, join(out, "m.gguf")),
    /pre-tokenizer .*\\\\w\+.*cannot be expressed/,
  );
  const wordPiece = await withTokenizer((t) => ((t.model as Record<string, unknown>).type = "WordPiece"));
  await assert.rejects(
    exportGguf(wordPiece, join(out, "m.gguf")),
    /tokenizer model "WordPiece".*cannot be expressed/,
  );
  noOutput(out);
});

test("configs llama.cpp would compute differently are refused with the reason", async () => {
  const out = tempDir();
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "gemma2",
      { query_pre_attn_scalar: 256 },
      /query_pre_attn_scalar 256: llama\.cpp's gemma2 scales queries by 1\/sqrt\(16\)/,
    ],
    ["gemma2", { final_logit_softcapping: null }, /always soft-caps logits/],
    [
      "gemma3_text",
      { rope_local_base_freq: 20000 },
      /rope_local_base_freq 20000: llama\.cpp's gemma3 uses 10000/,
    ],
    [
      "gemma3_text",
      { sliding_window_pattern: 2 },
      /layer 1 attends globally: llama\.cpp's gemma3 makes every 6th layer global/,
    ],
    [
      "qwen2",
      { use_sliding_window: true, max_window_layers: 1 },
      /sliding window, which llama\.cpp's qwen2 does not apply/,
    ],
    ["llama", { rope_scaling: { rope_type: "dynamic", factor: 2 } }, /rope_scaling type dynamic/],
    ["gemma", { tie_word_embeddings: false }, /untied lm_head/],
  ];
  for (const [family, config, why] of cases) {
    const dir = await fixture(root, { family, layers: 2, config });
    await assert.rejects(exportGguf(dir, join(out, "m.gguf")), (e: Error) => {
      assert.ok(e instanceof GgufExportError, `${family} ${JSON.stringify(config)}: ${e.message}`);
      assert.match(e.message, why);
      assert.match(e.message, /config\.json: cannot export to GGUF/);
      return true;
    });
  }
  // An lm_head beside a config that does not say untied: the engine would read it, llama.cpp would not.
  const gemma = await fixture(root, {
    family: "gemma",
    layers: 1,
    tied: false,
    config: { tie_word_embeddings: undefined },
  });
  await assert.rejects(
    exportGguf(gemma, join(out, "m.gguf")),
    /tensor lm_head\.weight: llama\.cpp's gemma always uses the embeddings/,
  );
  noOutput(out);
});

test("an existing output needs --force, which replaces only a GGUF file", async () => {
  const out = tempDir();
  const file = join(out, "m.gguf");
  writeFileSync(file, "not a gguf");
  await assert.rejects(
    exportGguf(llama, file),
    (e: Error) => e instanceof OutputError && /exists; pass --force/.test(e.message),
  );
  await assert.rejects(
    exportGguf(llama, file, { force: true }),
    /--force will not replace .*m\.gguf: it is not a GGUF file/,
  );
  assert.equal(readFileSync(file, "utf8"), "not a gguf");
  const gguf = join(out, "ok.gguf");
  const first = await exportGguf(llama, gguf, { dtype: "f32" });
  const second = await exportGguf(llama, gguf, { dtype: "f16", force: true });
  assert.ok(second.bytes < first.bytes);
  assert.equal((await readGguf(gguf)).fileSize, second.bytes);
  assert.deepEqual(readdirSync(out).sort(), ["m.gguf", "ok.gguf"]);
});

test("a failure while writing leaves no partial output", async () => {
  const out = tempDir();
  await assert.rejects(
    exportGguf(llama, join(out, "m.gguf"), {
      onProgress: (done) => {
        if (done > 1000) throw new Error("interrupted");
      },
    }),
    /interrupted/,
  );
  noOutput(out);
});

test("deepen export gguf prints a one-line summary; a refusal is one line and status 1", () => {
  const out = tempDir();
  const file = join(out, "m.gguf");
  const ok = runCli(["export", "gguf", llama, "-o", file, "--dtype", "q8_0"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    /^wrote .*m\.gguf: llama, 12 tensors \(9 Q8_0, 3 F32\), tokenizer gpt2\/gpt-2 × 288, [\d.]+ MB\n$/,
  );
  assert.ok(existsSync(file));
  const again = runCli(["export", "gguf", llama, "-o", file]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^deepen: output .*m\.gguf exists; pass --force to replace it\n$/);
  const bad = runCli(["export", "gguf", llama, "-o", file, "--dtype", "q4_0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--dtype q4_0: expected one of auto, f32, f16, bf16, q8_0/);
});
