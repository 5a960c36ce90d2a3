import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { metaNumber, metaString } from "../../src/checkpoint/gguf/ggufMetadata.js";
import { readGguf } from "../../src/checkpoint/gguf/readGguf.js";
import { exportGguf } from "../../src/surgery/exportGguf.js";
import { TOKEN_TYPE } from "../../src/tokenizer/ggufVocab.js";
import { byteTokenizerFiles } from "../fixtures/byteTokenizer.js";
import { fixture, tempDir } from "../helpers.js";

const root = tempDir();

test("--dtype auto follows the source as llama.cpp's converter does: bf16 stays bf16, f32 becomes f16", async () => {
  for (const [dtype, type, fileType] of [
    ["BF16", "BF16", 32],
    ["F32", "F16", 1],
    ["F16", "F16", 1],
  ] as const) {
    const dir = await fixture(root, { family: "qwen2", layers: 1, dtype });
    const file = join(tempDir(), "m.gguf");
    const r = await exportGguf(dir, file);
    const g = await readGguf(file);
    assert.equal(metaNumber(g.metadata, "general.file_type"), fileType, dtype);
    assert.deepEqual(r.dtypes, { [type]: 9, F32: 6 }, dtype); // q/k/v biases and norms stay F32
    assert.equal(g.tensors.find((t) => t.name === "blk.0.attn_q.bias")?.type.name, "F32");
  }
});

test("the byte-level fixture's vocabulary, special tokens, padding rows and chat template are written", async () => {
  const dir = await fixture(root, { family: "gemma2", layers: 2 });
  const file = join(tempDir(), "m.gguf");
  await exportGguf(dir, file, { dtype: "q8_0" });
  const g = await readGguf(file);
  const m = g.metadata;
  assert.equal(metaString(m, "general.architecture"), "gemma2");
  assert.equal(metaNumber(m, "general.quantization_version"), 2);
  assert.equal(metaNumber(m, "general.file_type"), 7);
  assert.equal(metaNumber(m, "gemma2.attention.sliding_window"), 4096);
  assert.equal(metaNumber(m, "gemma2.final_logit_softcapping"), 30);
  assert.equal(metaNumber(m, "gemma2.attn_logit_softcapping"), 50);
  assert.equal(metaNumber(m, "gemma2.block_count"), 2);
  assert.equal(metaNumber(m, "tokenizer.ggml.bos_token_id"), 256);
  assert.equal(metaNumber(m, "tokenizer.ggml.eos_token_id"), 257);
  assert.equal(metaNumber(m, "tokenizer.ggml.padding_token_id"), 258);
  assert.equal(m.get("tokenizer.ggml.add_bos_token")?.value, true);
  const config = JSON.parse(byteTokenizerFiles()["tokenizer_config.json"]!) as { chat_template: string };
  assert.equal(metaString(m, "tokenizer.chat_template"), config.chat_template);
  const tokens = m.get("tokenizer.ggml.tokens")!.value as string[];
  const types = m.get("tokenizer.ggml.token_type")!.value as number[];
  assert.equal(tokens.length, 288); // the embedding's rows: 259 tokens and 29 padding rows
  assert.deepEqual(
    [tokens[259], types[259], types[256], types[65]],
    ["[PAD259]", TOKEN_TYPE.unused, TOKEN_TYPE.control, TOKEN_TYPE.normal],
  );
  // Gemma's head is its embeddings: no output tensor; the sandwich norms have llama.cpp's names.
  const names = g.tensors.map((t) => t.name);
  assert.ok(!names.includes("output.weight"));
  for (const n of ["post_attention_norm", "ffn_norm", "post_ffw_norm", "attn_norm"])
    assert.ok(names.includes(`blk.1.${n}.weight`), n);
});
