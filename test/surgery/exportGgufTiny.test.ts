import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
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
