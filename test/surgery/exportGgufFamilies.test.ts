import assert from "node:assert/strict";
import { copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { GGUF_ARCHS } from "../../src/arch/ggufArch.js";
import { openModelFolder } from "../../src/checkpoint/modelFolder.js";
import { tensorFrom } from "../../src/checkpoint/tensorStream.js";
import { writeShards } from "../../src/checkpoint/writeShards.js";
import { exportGguf, type GgufDtypeOption } from "../../src/surgery/exportGguf.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { writeSyntheticModel } from "../fixtures/syntheticModel.js";
import { editTensors, tempDir } from "../helpers.js";
import { mulberry32 } from "../../src/random.js";
import { compare, runDeepen, runLlamaCpp } from "../llamaCpp.js";

/** 63 bytes: with the fixture tokenizer's BOS, 64 tokens. */
const TEXT = "Kept in the dark, the lamp burned low; at dawn it was cold agai";
/**
 * The fixture's weights are uniform in ±0.02, which gives near-flat next-token distributions; scaled
 * by this, logits spread over several nats, so a wrong permutation or norm shows.
 */
const WEIGHT_SCALE = 20;

/** A synthetic checkpoint of `family` in F32 with weights scaled so its predictions are sharp. */
async function sharpModel(family: string, config: Record<string, unknown> = {}, dims = {}): Promise<string> {
  const raw = tempDir();
  await writeSyntheticModel(raw, { family, layers: 2, dtype: "F32", config, dims });
  const m = await openModelFolder(raw);
  const dir = tempDir();
  await writeShards(
    dir,
    [...m.tensors.values()].map((e) =>
      tensorFrom(e.name, e, { scale: /norm/.test(e.name) ? 1 : WEIGHT_SCALE }),
    ),
    {},
  );
  for (const f of readdirSync(raw)) if (!/safetensors/.test(f)) copyFileSync(join(raw, f), join(dir, f));
  return dir;
}

async function agreement(dir: string, dtype: GgufDtypeOption) {
  const file = join(tempDir(), "m.gguf");
  const summary = await exportGguf(dir, file, { dtype });
  const tok = await loadTokenizer(dir);
  const ids = tok.encode(TEXT);
  assert.equal(ids.length, 64);
  const cpp = await runLlamaCpp(file, ids, TEXT);
  assert.deepEqual(cpp.tokens, tok.encode(TEXT, { addSpecialTokens: false }));
  return { summary, ...compare(await runDeepen(dir, ids), cpp.logProbs, ids) };
}

/**
 * ggml's CPU GELU rounds its input to f16 and reads a table (GGML_GELU_FP16 in ggml-cpu/vec.h), a
 * relative error near 1e-3 per activation that llama.cpp adds to every Gemma MLP; measured 3e-3 to
 * 5e-3 here on distributions spread over ~20 nats. The SiLU families agree to ~1e-5.
 */
const GELU_TOLERANCE = 1e-2;
const TOLERANCE = 1e-3;
const isGelu = (family: string) => family.startsWith("gemma");
/** Granite divides logits by logits_scaling (8 in the fixture, which flattens them); 2 keeps them spread. */
const CONFIG: Record<string, Record<string, unknown>> = { granite: { logits_scaling: 2 } };

for (const family of Object.keys(GGUF_ARCHS)) {
  const bound = isGelu(family) ? GELU_TOLERANCE : TOLERANCE;
  test(`${family}: the f32 export's log-probabilities in llama.cpp match deepen's within ${bound}`, async () => {
    const a = await agreement(await sharpModel(family, CONFIG[family]), "f32");
    console.log(
      `${family} f32: max |Δ logprob| next ${a.nextToken.toExponential(2)}, any ${a.anyToken.toExponential(2)}, spread ${a.spread.toFixed(1)}`,
    );
    assert.ok(a.spread > 2, `spread ${a.spread}`);
    assert.ok(a.nextToken < bound, `max |Δ logprob| ${a.nextToken}`);
  });
}

/**
 * Q8_0 rounds each weight to 1/254 of its block's largest, and llama.cpp rounds activations to Q8_0
 * too before each product. These random nets, their weights scaled ×20, amplify such rounding:
 * measured up to 0.97 (gemma2), 0.11 to 0.43 for the others; a wrong tensor order or norm would
 * differ by several nats. The trained deepen-tiny stays within 0.03 (exportGgufTiny.test).
 */
const Q8_TOLERANCE = 1.5;

for (const family of Object.keys(GGUF_ARCHS)) {
  test(`${family}: the q8_0 export stays within ${Q8_TOLERANCE} of deepen's log-probabilities`, async () => {
    const a = await agreement(await sharpModel(family, CONFIG[family]), "q8_0");
    console.log(
      `${family} q8_0: max |Δ logprob| next ${a.nextToken.toExponential(2)}, any ${a.anyToken.toExponential(2)}`,
    );
    assert.ok(a.summary.dtypes.Q8_0! > 0);
    assert.ok(a.nextToken < Q8_TOLERANCE, `max |Δ logprob| ${a.nextToken}`);
  });
}

/** A window shorter than the text, so sliding layers see less than global ones. */
const WINDOW = 16;

for (const family of ["gemma2", "gemma3_text"]) {
  test(`${family}: llama.cpp slides the same layers over the same window as deepen`, async () => {
    const a = await agreement(await sharpModel(family, { sliding_window: WINDOW }), "f32");
    console.log(`${family} window ${WINDOW}: max |Δ logprob| next ${a.nextToken.toExponential(2)}`);
    assert.ok(a.nextToken < GELU_TOLERANCE, `max |Δ logprob| ${a.nextToken}`);
  });
}

for (const family of ["mistral", "phi3"]) {
  test(`${family}: llama.cpp attends globally; the export says so and agrees up to the window`, async () => {
    const dir = await sharpModel(family, { sliding_window: WINDOW });
    const file = join(tempDir(), "m.gguf");
    const summary = await exportGguf(dir, file, { dtype: "f32" });
    assert.match(
      summary.notes.join("\n"),
      /attends over the whole context: the same as the sliding window of 16 up to 16 tokens/,
    );
    const ids = (await loadTokenizer(dir)).encode(TEXT);
    const deepen = await runDeepen(dir, ids);
    const cpp = (await runLlamaCpp(file, ids)).logProbs;
    const inside = compare(deepen.slice(0, WINDOW - 1), cpp.slice(0, WINDOW - 1), ids);
    assert.ok(inside.nextToken < TOLERANCE, `inside the window: ${inside.nextToken}`);
    assert.ok(compare(deepen, cpp, ids).nextToken > 0.1, "past the window the two differ");
  });
}

/** Scalings that change positions inside 64 tokens at head_dim 16 (wavelengths 6 to 6000). */
const ROPE_SCALINGS: [string, Record<string, unknown>][] = [
  ["linear", { rope_type: "linear", factor: 4 }],
  [
    "llama3",
    {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 32,
    },
  ],
];

for (const [kind, rope_scaling] of ROPE_SCALINGS) {
  test(`llama with ${kind} rope scaling: llama.cpp matches deepen`, async () => {
    const dir = await sharpModel("llama", { rope_scaling });
    const a = await agreement(dir, "f32");
    console.log(`llama ${kind} rope: max |Δ logprob| next ${a.nextToken.toExponential(2)}`);
    assert.ok(a.nextToken < TOLERANCE, `max |Δ logprob| ${a.nextToken}`);
    // 2 layers of 9 tensors, embeddings, final norm, head; and llama3's rope_freqs.
    assert.equal(a.summary.tensors, 2 * 9 + 3 + (kind === "llama3" ? 1 : 0));
    const ids = (await loadTokenizer(dir)).encode(TEXT);
    const scaled = await runDeepen(dir, ids);
    const plain = await runDeepen(await sharpModel("llama"), ids);
    assert.ok(compare(scaled, plain, ids).nextToken > 1e-2, "the scaling changes the predictions");
  });
}

test("llama with q/k/v biases: the biases are reordered with their rows and match in llama.cpp", async () => {
  const dir = await sharpModel("llama");
  const rand = mulberry32(7);
  await editTensors(dir, (tensors) => {
    const biases = tensors
      .filter((t) => /self_attn\.[qkv]_proj\.weight$/.test(t.name))
      .map((t) => {
        const rows = t.entry.shape[0]!;
        const bytes = Buffer.from(Float32Array.from({ length: rows }, () => (rand() - 0.5) * 2).buffer);
        const name = t.name.replace(/weight$/, "bias");
        return { name, bytes, entry: { ...t.entry, name, shape: [rows], begin: 0, end: bytes.length } };
      });
    return [...tensors, ...biases];
  });
  const a = await agreement(dir, "f32");
  assert.equal(a.summary.tensors, 2 * 12 + 3);
  assert.ok(a.nextToken < TOLERANCE, `max |Δ logprob| ${a.nextToken}`);
});

test("phi3 with partial rotary (half of each head; Phi-4-mini rotates 0.75): llama.cpp rotates the same dimensions", async () => {
  const a = await agreement(await sharpModel("phi3", { partial_rotary_factor: 0.5 }), "f32");
  console.log(`phi3 partial rotary: max |Δ logprob| next ${a.nextToken.toExponential(2)}`);
  assert.ok(a.nextToken < TOLERANCE, `max |Δ logprob| ${a.nextToken}`);
});
