import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { metaNumber, metaString } from "../../src/checkpoint/gguf/ggufMetadata.js";
import { readGguf } from "../../src/checkpoint/gguf/readGguf.js";
import { exportGguf } from "../../src/surgery/exportGguf.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { tempDir } from "../helpers.js";
import { compare, runDeepen, runLlamaCpp } from "../llamaCpp.js";

const TINY = "assets/deepen-tiny";
const TEXT =
  "The old lighthouse keeper climbed the stairs every evening, counting each step as his father had, " +
  "and at the top he lit the lamp that guided the fishing boats home through the fog and the dark water. " +
  "In the morning he wrote the weather in a book, and went to sleep while the gulls cried over the harbour.";

test("deepen-tiny exported as f32 runs in llama.cpp with deepen's tokens and log-probabilities", async () => {
  const dir = tempDir();
  const file = join(dir, "tiny.gguf");
  const r = await exportGguf(TINY, file, { dtype: "f32" });
  assert.equal(r.architecture, "llama");
  const g = await readGguf(file);
  assert.equal(metaString(g.metadata, "tokenizer.ggml.model"), "gpt2");
  assert.equal(metaString(g.metadata, "tokenizer.ggml.pre"), "gpt-2");
  assert.equal(metaNumber(g.metadata, "general.file_type"), 0);
  assert.equal(metaNumber(g.metadata, "llama.block_count"), 8);
  const q = g.tensors.find((t) => t.name === "blk.0.attn_k.weight")!;
  assert.deepEqual([q.type.name, q.dims], ["F32", [256, 128]]); // HF [out, in] is ggml [in, out]
  assert.ok(g.tensors.some((t) => t.name === "output.weight")); // deepen-tiny is untied
  const tok = await loadTokenizer(TINY);
  const ids = tok.encode(TEXT).slice(0, 64);
  assert.equal(ids.length, 64);
  const cpp = await runLlamaCpp(file, ids, TEXT);
  assert.deepEqual(cpp.tokens, tok.encode(TEXT, { addSpecialTokens: false }));
  assert.equal(cpp.shouldPrependBos, true);
  const a = compare(await runDeepen(TINY, ids), cpp.logProbs, ids);
  console.log("deepen-tiny f32", a);
  assert.ok(a.spread > 5, `spread ${a.spread}`);
  assert.ok(a.nextToken < 1e-3, `max |Δ logprob| ${a.nextToken}`);
});

/**
 * Rounding in llama.cpp, not in the file: with f16 or bf16 weights ggml rounds activations to the
 * same type before each product, with Q8_0 to Q8_0. Measured on deepen-tiny (max |Δ logprob| of the
 * next token): f16 1.2e-3, bf16 8.8e-3 (the weights are deepen-tiny's own bf16), q8_0 2.8e-2.
 */
const BOUNDS = { f16: 5e-3, bf16: 3e-2, q8_0: 0.1 };

for (const [dtype, bound] of Object.entries(BOUNDS) as [keyof typeof BOUNDS, number][]) {
  test(`deepen-tiny exported as ${dtype}: log-probabilities within ${bound} of deepen's`, async () => {
    const file = join(tempDir(), "tiny.gguf");
    const r = await exportGguf(TINY, file, { dtype });
    // 7 matrices per layer, embeddings and head; under q8_0 the 8 down_proj rows of 688 (not a
    // multiple of 32) fall back to F16, and the summary says so.
    const fallback = dtype === "q8_0" ? 8 : 0;
    assert.equal(r.dtypes[dtype.toUpperCase()], 8 * 7 + 2 - fallback);
    if (fallback) {
      assert.equal(r.dtypes.F16, fallback);
      assert.match(r.notes.join("\n"), /8 tensor\(s\) written as F16.*mlp\.down_proj/);
    }
    assert.equal(r.dtypes.F32, 8 * 2 + 1); // norms stay F32
    const tok = await loadTokenizer(TINY);
    const ids = tok.encode(TEXT).slice(0, 64);
    const a = compare(await runDeepen(TINY, ids), (await runLlamaCpp(file, ids)).logProbs, ids);
    console.log(`deepen-tiny ${dtype}: max |Δ logprob| ${a.nextToken.toExponential(2)}`);
    assert.ok(a.nextToken < bound, `max |Δ logprob| ${a.nextToken}`);
  });
}
