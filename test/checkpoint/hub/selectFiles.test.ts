import assert from "node:assert/strict";
import { test } from "node:test";
import { fileSelector, globToRegExp } from "../../../src/checkpoint/hub/selectFiles.js";

test("by default: config, tokenizer and safetensors files at the top level, no other weight formats", () => {
  const wanted = fileSelector();
  for (const f of [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "chat_template.jinja",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "model.safetensors",
    "model-00001-of-00002.safetensors",
    "model.safetensors.index.json",
    "adapter_config.json",
    "adapter_model.safetensors",
  ])
    assert.ok(wanted(f), f);
  for (const f of [
    "pytorch_model.bin",
    "consolidated.pth",
    "model.pt",
    "model.onnx",
    "model.gguf",
    "tf_model.h5",
    "flax_model.msgpack",
    "README.md",
    "onnx/model.safetensors",
    "original/config.json",
  ])
    assert.ok(!wanted(f), f);
});

test("include patterns add files, as fnmatch reads them (* crosses /)", () => {
  const wanted = fileSelector(["*.gguf", "original/*", "shard-?.bin", "[ab]x.pt"]);
  for (const f of [
    "model.gguf",
    "q/model-Q4.gguf",
    "original/params.json",
    "shard-1.bin",
    "ax.pt",
    "config.json",
  ])
    assert.ok(wanted(f), f);
  for (const f of ["shard-10.bin", "cx.pt", "model.bin"]) assert.ok(!wanted(f), f);
  assert.ok(!globToRegExp("[!ab]x").test("ax"));
  assert.ok(globToRegExp("a.b+c").test("a.b+c"));
  assert.ok(!globToRegExp("a.b").test("axb"));
});
