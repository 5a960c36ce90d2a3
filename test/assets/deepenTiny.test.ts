import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_MODEL } from "../../src/demo/runDemo.js";
import { perplexityOfText } from "../../src/eval/perplexityOfText.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { inspectModel } from "../../src/surgery/inspectModel.js";

test("the committed deepen-tiny has the documented shape and tokenizer", async () => {
  const config = JSON.parse(readFileSync(join(DEFAULT_MODEL, "config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  assert.deepEqual(config.architectures, ["LlamaForCausalLM"]);
  assert.equal(config.num_hidden_layers, 8);
  assert.equal(config.hidden_size, 256);
  assert.equal(config.num_attention_heads, 8);
  assert.equal(config.num_key_value_heads, 4);
  assert.equal(config.vocab_size, 4096);
  assert.equal(config.max_position_embeddings, 256);
  assert.equal(config.torch_dtype, "bfloat16");
  const report = await inspectModel(DEFAULT_MODEL);
  assert.ok(report.parameters > 7.5e6 && report.parameters < 8.5e6, `${report.parameters}`);
  const tok = await loadTokenizer(DEFAULT_MODEL);
  const text = "Fellow citizens: the whale — “Ishmael” — 1851 ✓\n";
  const ids = tok.encode(text);
  assert.equal(ids[0], tok.bosId);
  assert.equal(tok.decode(ids.slice(1)), text);
  assert.ok(ids.length < Buffer.byteLength(text), "BPE should merge common English bytes");
});

test("deepen-tiny's held-out perplexity matches its model card", async () => {
  const card = readFileSync(join(DEFAULT_MODEL, "README.md"), "utf8");
  const m =
    /## Held-out perplexity\s+\*\*([\d.]+)\*\* \(mean NLL [\d.]+ nats\/token over (\d+) scored tokens/.exec(
      card,
    );
  assert.ok(m, "the card states the held-out perplexity");
  const r = await perplexityOfText(DEFAULT_MODEL, "embedded:heldout", { batch: 8 });
  assert.equal(r.tokens, Number(m[2]));
  const stated = Number(m[1]);
  assert.ok(Math.abs(r.perplexity - stated) < 1e-3 * stated, `measured ${r.perplexity}, card ${stated}`);
});
