import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResolvedDecoder } from "../../src/arch/decoderConfig.js";
import { largestBatch, trainingBytes } from "../../src/train/memoryEstimate.js";

// The 125M Llama shape of bench:engine and bench:train, where the estimate was calibrated.
const d = {
  config: { hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 12, vocab_size: 32000 },
  heads: 12,
  kvHeads: 12,
  headDim: 64,
} as unknown as ResolvedDecoder;
const P = 134.1e6;
const GiB = 2 ** 30;

test("the estimate stays within 10 % of the measured 125M peaks, with and without --recompute", () => {
  const plain = trainingBytes(d, P, P, 4, 512) / GiB;
  const again = trainingBytes(d, P, P, 4, 512, true) / GiB;
  assert.ok(Math.abs(plain - 8.2) / 8.2 < 0.1, `estimate ${plain.toFixed(2)} GiB, measured 8.2`);
  assert.ok(Math.abs(again - 6.6) / 6.6 < 0.1, `estimate ${again.toFixed(2)} GiB, measured 6.6`);
});

test("recomputing fits longer sequences: at 4096 tokens a batch that fits with it needs twice the memory without", () => {
  const budget = 20 * GiB;
  const with_ = largestBatch(d, P, P, 4096, budget, true);
  const without = largestBatch(d, P, P, 4096, budget);
  assert.ok(with_ > without, `with ${with_}, without ${without}`);
  assert.ok(trainingBytes(d, P, P, with_, 4096) > 2 * trainingBytes(d, P, P, with_, 4096, true));
});
