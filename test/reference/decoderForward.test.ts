// Checks of the float64 reference forward pass itself: the properties each architecture must have
// (causality, sliding windows, RoPE scaling, norms, soft-capping, tied heads), asserted exactly where
// the arithmetic allows, and equivalences between families that share weights.
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { upscale } from "../../src/surgery/upscale.js";
import { editTensors, fixture, tempDir } from "../helpers.js";
import { applyRope, referenceLogits, ropeInverseFrequencies } from "./decoderForward.js";

const root = tempDir();
const tokens = [256, 72, 101, 108, 108, 111, 44, 32];
const VOCAB = 288; // TINY_DIMS.vocab

const FAMILIES = [
  "llama",
  "mistral",
  "qwen2",
  "qwen3",
  "gemma",
  "gemma2",
  "gemma3_text",
  "phi3",
  "olmo2",
  "granite",
];

const maxAbs = (a: Float64Array[]) => Math.max(...a.map((row) => Math.max(...row.map(Math.abs))));
const maxDiff = (a: Float64Array[], b: Float64Array[]) => {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((row, t) => Math.max(...row.map((v, i) => Math.abs(v - b[t]![i]!)))));
};
/** max |a − b| relative to max |a|. */
const relDiff = (a: Float64Array[], b: Float64Array[]) => maxDiff(a, b) / maxAbs(a);
const rowsEqual = (a: Float64Array, b: Float64Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

const logits = (dir: string, toks = tokens, positions?: number[]) =>
  referenceLogits(dir, toks, { positions });
const model = (family: string, config: Record<string, unknown> = {}, layers = 2) =>
  fixture(root, { family, layers, dtype: "F32", config });

type Tensor = Parameters<Parameters<typeof editTensors>[1]>[0][number];
const f32 = (t: Tensor) => new Float32Array(new Uint8Array(t.bytes).buffer);
const withValues = (t: Tensor, values: Float32Array, shape = t.entry.shape): Tensor => ({
  name: t.name,
  entry: { ...t.entry, shape },
  bytes: Buffer.from(values.buffer, values.byteOffset, values.byteLength),
});

/** A copy of `dir` as another architecture: tensors rewritten by `edit`, config fields replaced. */
async function convert(
  dir: string,
  name: string,
  edit: (ts: Tensor[]) => Tensor[],
  config: Record<string, unknown>,
): Promise<string> {
  const out = join(root, name);
  cpSync(dir, out, { recursive: true });
  await editTensors(out, edit);
  const file = join(out, "config.json");
  const c = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...c, ...config }, null, 2));
  return out;
}

test("every family: logits [T][vocab], finite, causal, and later positions read earlier tokens", async () => {
  for (const family of FAMILIES) {
    const dir = await model(family);
    const a = await logits(dir);
    assert.equal(a.length, tokens.length, family);
    for (const row of a) {
      assert.equal(row.length, VOCAB, family);
      assert.ok(row.every(Number.isFinite), `${family}: finite logits`);
    }
    assert.ok(maxAbs(a) > 0, `${family}: logits are not all zero`);
    // Changing the last token changes nothing before it, and its own row.
    const b = await logits(dir, [...tokens.slice(0, -1), 7]);
    for (let t = 0; t < tokens.length - 1; t++)
      assert.ok(rowsEqual(a[t]!, b[t]!), `${family}: row ${t} is causal`);
    assert.ok(!rowsEqual(a.at(-1)!, b.at(-1)!), `${family}: the last row reads its own token`);
    // Changing the first token reaches the last position.
    const c = await logits(dir, [7, ...tokens.slice(1)]);
    assert.ok(!rowsEqual(a.at(-1)!, c.at(-1)!), `${family}: the last row reads the first token`);
  }
});

test("an architecture the reference does not implement is named in the error", async () => {
  const dir = await model("mixtral");
  await assert.rejects(logits(dir), /MixtralForCausalLM/);
});

test("bad inputs: a token outside the vocabulary, positions of the wrong length", async () => {
  const dir = await model("llama");
  await assert.rejects(logits(dir, [1, VOCAB]), /token 288 is outside the vocabulary \[0, 288\)/);
  await assert.rejects(logits(dir, [1, 2, 3], [0, 1]), /2 positions given for 3 tokens/);
});

test("Mistral without a window, Granite with neutral multipliers and Qwen2 without biases compute Llama exactly", async () => {
  // Same seed and tensor names: the synthetic weights are identical across these families.
  const llama = await logits(await model("llama"));
  assert.equal(maxDiff(llama, await logits(await model("mistral", { sliding_window: null }))), 0);

  const neutral = {
    embedding_multiplier: 1,
    residual_multiplier: 1,
    attention_multiplier: 0.25,
    logits_scaling: 1,
  };
  assert.equal(
    maxDiff(llama, await logits(await model("granite", neutral))),
    0,
    "attention_multiplier 16^-0.5",
  );
  // logits_scaling divides the logits (powers of two: exact).
  const scaled = await logits(await model("granite", { ...neutral, logits_scaling: 8 }));
  assert.equal(
    maxDiff(
      llama,
      scaled.map((r) => r.map((v) => v * 8)),
    ),
    0,
  );
  // Each multiplier matters.
  for (const [k, v] of [
    ["embedding_multiplier", 12],
    ["residual_multiplier", 0.22],
    ["attention_multiplier", 1],
  ] as const) {
    assert.ok(relDiff(llama, await logits(await model("granite", { ...neutral, [k]: v }))) > 1e-3, k);
  }

  const qwen2 = await model("qwen2");
  assert.ok(relDiff(llama, await logits(qwen2)) > 1e-3, "q/k/v biases are applied");
  const unbiased = await convert(
    qwen2,
    "qwen2-unbiased",
    (ts) => ts.filter((t) => !t.name.endsWith(".bias")),
    {},
  );
  assert.equal(maxDiff(llama, await logits(unbiased)), 0);
});

test("Phi-3's fused qkv_proj = [q; k; v] and gate_up_proj = [gate; up] compute the split Llama layers exactly", async () => {
  const llamaDir = await model("llama");
  const phi3 = await convert(
    llamaDir,
    "phi3-from-llama",
    (ts) => {
      const byName = new Map(ts.map((t) => [t.name, t]));
      const fuse = (name: string, parts: string[]): Tensor => {
        const ps = parts.map((p) => byName.get(p)!);
        for (const p of parts) byName.delete(p);
        const rows = ps.reduce((n, p) => n + p.entry.shape[0]!, 0);
        return {
          name,
          entry: { ...ps[0]!.entry, shape: [rows, ps[0]!.entry.shape[1]!] },
          bytes: Buffer.concat(ps.map((p) => p.bytes)),
        };
      };
      const fused: Tensor[] = [];
      for (let l = 0; l < 2; l++) {
        const p = `model.layers.${l}.`;
        fused.push(
          fuse(
            `${p}self_attn.qkv_proj.weight`,
            ["q", "k", "v"].map((x) => `${p}self_attn.${x}_proj.weight`),
          ),
        );
        fused.push(
          fuse(`${p}mlp.gate_up_proj.weight`, [`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`]),
        );
      }
      return [...byName.values(), ...fused];
    },
    { architectures: ["Phi3ForCausalLM"], model_type: "phi3" },
  );
  assert.equal(maxDiff(await logits(llamaDir), await logits(phi3)), 0);
});

test("Gemma = Llama with norm weights 1 + w, embeddings × sqrt(hidden), GeGLU (tanh GELU) and the embeddings as head", async () => {
  const gemmaDir = await model("gemma");
  const llama = await convert(
    gemmaDir,
    "llama-from-gemma",
    (ts) => {
      const out = ts.map((t) => {
        if (/norm\.weight$/.test(t.name))
          return withValues(
            t,
            f32(t).map((w) => 1 + w),
          );
        if (t.name === "model.embed_tokens.weight")
          return withValues(
            t,
            f32(t).map((e) => e * 8),
          ); // sqrt(64)
        return t;
      });
      const embed = ts.find((t) => t.name === "model.embed_tokens.weight")!;
      return [...out, { ...embed, name: "lm_head.weight" }];
    },
    {
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_act: "gelu_pytorch_tanh",
      tie_word_embeddings: false,
    },
  );
  // 1 + w rounds to float32 in the Llama copy: equal to float32 precision, not bit for bit.
  assert.ok(relDiff(await logits(gemmaDir), await logits(llama)) < 1e-6);
});

test("Gemma's tied head: editing the embedding row of an unused token changes only that token's logits", async () => {
  for (const family of ["gemma", "gemma2", "gemma3_text"]) {
    const dir = await model(family);
    const before = await logits(dir);
    const unused = VOCAB - 1;
    const edited = await convert(
      dir,
      `${family}-row-edited`,
      (ts) =>
        ts.map((t) => {
          if (t.name !== "model.embed_tokens.weight") return t;
          const e = f32(t);
          for (let i = unused * 64; i < (unused + 1) * 64; i++) e[i] = -e[i]! * 3;
          return withValues(t, e);
        }),
      {},
    );
    const after = await logits(edited);
    for (let t = 0; t < tokens.length; t++) {
      for (let v = 0; v < VOCAB; v++) {
        if (v === unused) assert.notEqual(after[t]![v], before[t]![v], `${family}: logit ${v} moves`);
        else assert.equal(after[t]![v], before[t]![v], `${family}: logit ${v} stays`);
      }
    }
  }
});

test("Mistral's sliding_window: 1 makes each position read only its own token; 3 hides tokens 3 back (one layer)", async () => {
  const repeated = [5, 9, 5, 7, 5, 9];
  const w1 = await logits(await model("mistral", { sliding_window: 1 }), repeated);
  assert.ok(rowsEqual(w1[0]!, w1[2]!) && rowsEqual(w1[0]!, w1[4]!) && rowsEqual(w1[1]!, w1[5]!));
  assert.ok(!rowsEqual(w1[0]!, w1[1]!));
  const full = await logits(await model("mistral", { sliding_window: null }), repeated);
  assert.ok(!rowsEqual(full[0]!, full[2]!), "without a window, position 2 reads positions 0 and 1");

  const dir = await model("mistral", { sliding_window: 3 }, 1);
  const a = await logits(dir);
  const b = await logits(dir, [7, ...tokens.slice(1)]);
  for (let t = 0; t < tokens.length; t++) {
    assert.equal(rowsEqual(a[t]!, b[t]!), t >= 3, `row ${t}: i − j < 3 sees index 0 only for i < 3`);
  }
});

test("Qwen2/Qwen3 slide only with use_sliding_window, from max_window_layers on, or where layer_types says", async () => {
  const repeated = [5, 9, 5, 7, 5];
  const slides = async (family: string, config: Record<string, unknown>) => {
    const r = await logits(await model(family, { sliding_window: 1, ...config }, 1), repeated);
    return rowsEqual(r[0]!, r[2]!);
  };
  for (const family of ["qwen2", "qwen3"]) {
    assert.equal(await slides(family, { use_sliding_window: true, max_window_layers: 0 }), true, family);
    assert.equal(await slides(family, { use_sliding_window: false, max_window_layers: 0 }), false, family);
    assert.equal(await slides(family, { use_sliding_window: true, max_window_layers: 1 }), false, family);
    const types = { use_sliding_window: true, max_window_layers: 1, layer_types: ["sliding_attention"] };
    assert.equal(await slides(family, types), true, `${family}: layer_types wins`);
  }
});

test("Gemma 2 slides on even layers and Gemma 3 on all but every sliding_window_pattern-th, unless layer_types says", async () => {
  const repeated = [5, 9, 5, 7, 5];
  const slides = async (family: string, config: Record<string, unknown>) => {
    const r = await logits(await model(family, { sliding_window: 1, ...config }, 1), repeated);
    return rowsEqual(r[0]!, r[2]!);
  };
  assert.equal(await slides("gemma2", {}), true, "layer 0 of Gemma 2 slides");
  assert.equal(await slides("gemma2", { layer_types: ["full_attention"] }), false);
  assert.equal(await slides("gemma3_text", { sliding_window_pattern: 6 }), true, "layer 0 of 6 slides");
  assert.equal(await slides("gemma3_text", { sliding_window_pattern: 1 }), false, "every layer global");
  assert.equal(await slides("gemma3_text", { layer_types: ["full_attention"] }), false);
});

test("Gemma 3: sliding layers rotate with rope_local_base_freq, global layers with rope_theta", async () => {
  const allSliding = { sliding_window_pattern: 6 };
  const base = await logits(await model("gemma3_text", allSliding));
  assert.equal(
    maxDiff(base, await logits(await model("gemma3_text", { ...allSliding, rope_theta: 500 }))),
    0,
  );
  assert.ok(
    relDiff(base, await logits(await model("gemma3_text", { ...allSliding, rope_local_base_freq: 500 }))) >
      1e-4,
  );

  const allGlobal = { layer_types: ["full_attention", "full_attention"] };
  const g = await logits(await model("gemma3_text", allGlobal));
  assert.equal(
    maxDiff(g, await logits(await model("gemma3_text", { ...allGlobal, rope_local_base_freq: 500 }))),
    0,
  );
  assert.ok(relDiff(g, await logits(await model("gemma3_text", { ...allGlobal, rope_theta: 500 }))) > 1e-4);
});

/** A copy of `dir` whose layer-0 tensor `name` ([rows, cols] F32) has entries set by `f(value, row, col)`. */
const editMatrix = (
  dir: string,
  copy: string,
  edits: Record<string, (v: number, r: number, c: number) => number>,
) =>
  convert(
    dir,
    copy,
    (ts) =>
      ts.map((t) => {
        const f = edits[t.name.replace(/^model\.layers\.0\./, "")];
        if (!f || !t.name.startsWith("model.layers.0.")) return t;
        const w = f32(t);
        const cols = t.entry.shape[1]!;
        return withValues(
          t,
          w.map((v, i) => f(v, Math.floor(i / cols), i % cols)),
        );
      }),
    {},
  );

test("grouped-query attention: query head h reads kv head floor(h / (heads / kv_heads)), as repeat_kv does", async () => {
  // 4 query heads, 2 kv heads of 16. Kv head 1 gets zero values: heads 2 and 3 then write nothing,
  // so their o_proj columns (32..63) cannot matter; heads 0 and 1's columns (0..31) do.
  const dir = await model("llama", {}, 1);
  const zeroV1 = { "self_attn.v_proj.weight": (v: number, r: number) => (r >= 16 ? 0 : v) };
  const a = await logits(await editMatrix(dir, "gqa-v", zeroV1));
  const o = (from: number) => (v: number, _r: number, c: number) => (c >= from && c < from + 32 ? 0 : v);
  const heads23 = await editMatrix(dir, "gqa-o23", { ...zeroV1, "self_attn.o_proj.weight": o(32) });
  const heads01 = await editMatrix(dir, "gqa-o01", { ...zeroV1, "self_attn.o_proj.weight": o(0) });
  assert.equal(maxDiff(a, await logits(heads23)), 0);
  assert.ok(relDiff(a, await logits(heads01)) > 1e-6);
});

test("RoPE: v·cos + rotate_half(v)·sin, dimension i paired with i + head_dim/2, relative positions only", async () => {
  const inv = Float64Array.from([1, 0.5]);
  const [c, s] = [Math.cos(3), Math.sin(3)];
  assert.deepEqual([...applyRope(Float64Array.from([1, 0, 0, 0]), 3, inv)], [c, 0, s, 0]);
  assert.deepEqual([...applyRope(Float64Array.from([0, 0, 1, 0]), 3, inv)], [-s, 0, c, 0]);
  assert.deepEqual(
    [...applyRope(Float64Array.from([1, 2, 3, 4, 5]), 0, inv)],
    [1, 2, 3, 4, 5],
    "past 2·len: as is",
  );

  // q and k only in dimensions 0 and 8 of each head: one pair at inv_freq[0] = 1, whatever rope_theta.
  const keepRows = (rows: number[]) => (v: number, r: number) => (rows.includes(r % 16) ? v : 0);
  const only = (rows: number[]) => ({
    "self_attn.q_proj.weight": keepRows(rows),
    "self_attn.k_proj.weight": keepRows(rows),
  });
  const theta = (config: Record<string, unknown>, rows: number[], name: string) =>
    model("llama", config, 1).then((d) => editMatrix(d, name, only(rows)));
  const pair = await logits(await theta({}, [0, 8], "rope-0-8"));
  assert.equal(maxDiff(pair, await logits(await theta({ rope_theta: 77 }, [0, 8], "rope-0-8-77"))), 0);
  // Dimensions 0 and 1 are two pairs, the second turning at rope_theta^(-2/16).
  const two = await logits(await theta({}, [0, 1], "rope-0-1"));
  assert.ok(relDiff(two, await logits(await theta({ rope_theta: 77 }, [0, 1], "rope-0-1-77"))) > 1e-6);

  // Scores depend on i − j only: shifting every position changes nothing but rounding.
  const dir = await model("llama");
  const p = tokens.map((_, i) => i);
  const shifted = await logits(
    dir,
    tokens,
    p.map((x) => x + 5),
  );
  assert.ok(relDiff(await logits(dir, tokens, p), shifted) < 1e-12);
});

test("rope_scaling linear, factor 2, at positions 2p equals plain RoPE at positions p", async () => {
  const plain = await model("llama");
  const linear = await model("llama", { rope_scaling: { rope_type: "linear", factor: 2.0 } });
  const p = tokens.map((_, i) => i);
  assert.equal(
    maxDiff(
      await logits(plain, tokens, p),
      await logits(
        linear,
        tokens,
        p.map((x) => 2 * x),
      ),
    ),
    0,
  );
  assert.ok(
    relDiff(await logits(plain), await logits(linear)) > 1e-6,
    "scaling changes the default positions",
  );
  // The legacy key "type" is read too.
  const legacy = await model("llama", { rope_scaling: { type: "linear", factor: 2.0 } });
  assert.equal(maxDiff(await logits(linear), await logits(legacy)), 0);
});

test("rope_scaling dynamic: plain RoPE up to max_position_embeddings, then base × ((f·T/max) − (f − 1))^(d/(d−2))", async () => {
  const dynamic = await model("llama", {
    max_position_embeddings: 8,
    rope_scaling: { rope_type: "dynamic", factor: 2.0 },
  });
  const plain = await model("llama");
  const at8 = tokens.slice(0, 8);
  assert.equal(maxDiff(await logits(plain, at8), await logits(dynamic, at8)), 0, "T = 8 <= max: unscaled");
  const at12 = [...tokens, 65, 66, 67, 68];
  const theta = 10000 * ((2 * 12) / 8 - (2 - 1)) ** (16 / 14);
  const grown = await model("llama", { rope_theta: theta });
  assert.equal(
    maxDiff(await logits(grown, at12), await logits(dynamic, at12)),
    0,
    "T = 12 > max: base grown",
  );
  assert.ok(relDiff(await logits(plain, at12), await logits(dynamic, at12)) > 1e-6);
});

test("rope_scaling llama3: short wavelengths kept, long ones divided by factor", async () => {
  const llama3 = (original: number) => ({
    rope_scaling: {
      rope_type: "llama3",
      factor: 8.0,
      low_freq_factor: 1.0,
      high_freq_factor: 4.0,
      original_max_position_embeddings: original,
    },
  });
  const plain = await logits(await model("llama"));
  const linear8 = await logits(await model("llama", { rope_scaling: { rope_type: "linear", factor: 8.0 } }));
  // Every wavelength (at most 2π·10000^(14/16) ≈ 2e4) is short against 1e9 / 4, long against 1 / 1.
  assert.equal(maxDiff(plain, await logits(await model("llama", llama3(1e9)))), 0);
  assert.equal(maxDiff(linear8, await logits(await model("llama", llama3(1)))), 0);
  // In between, the band is interpolated: neither of the two.
  const mixed = await logits(await model("llama", llama3(2000)));
  assert.ok(relDiff(plain, mixed) > 1e-6 && relDiff(linear8, mixed) > 1e-6);
});

test("rope_scaling llama3 on Llama 3.1 8B's config: 29 frequencies kept, 29 divided by 8, 6 interpolated", () => {
  const config = {
    architectures: ["LlamaForCausalLM"],
    hidden_size: 4096,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    num_hidden_layers: 32,
    rope_theta: 500000.0,
    rope_scaling: {
      rope_type: "llama3",
      factor: 8.0,
      low_freq_factor: 1.0,
      high_freq_factor: 4.0,
      original_max_position_embeddings: 8192,
    },
  };
  const scaled = ropeInverseFrequencies(config);
  const plain = ropeInverseFrequencies({ ...config, rope_scaling: null });
  assert.equal(scaled.length, 64);
  // Wavelength 2π·500000^(i/64) is below 8192/4 for i <= 28 and above 8192/1 for i >= 35.
  for (let i = 0; i < 64; i++) {
    const ratio = scaled[i]! / plain[i]!;
    if (i <= 28) assert.equal(ratio, 1, `i = ${i} kept`);
    else if (i >= 35) assert.ok(Math.abs(ratio - 1 / 8) < 1e-15, `i = ${i} divided by 8`);
    else {
      // smooth = (8192 / wavelen − 1) / 3; f' = ((1 − smooth) / 8 + smooth) f
      const smooth = (8192 / ((2 * Math.PI) / plain[i]!) - 1) / 3;
      assert.ok(smooth > 0 && smooth < 1, `i = ${i} in the band`);
      assert.ok(Math.abs(ratio - ((1 - smooth) / 8 + smooth)) < 1e-12, `i = ${i} interpolated`);
    }
  }
  // Gemma 3's sliding layers use rope_local_base_freq and no scaling; its global layers rope_theta and the scaling.
  const gemma3 = {
    ...config,
    architectures: ["Gemma3ForCausalLM"],
    head_dim: 128,
    rope_local_base_freq: 10000,
    rope_scaling: { rope_type: "linear", factor: 8.0 },
  };
  assert.equal(ropeInverseFrequencies(gemma3, "sliding_attention")[63], 1 / 10000 ** (126 / 128));
  assert.equal(ropeInverseFrequencies(gemma3, "full_attention")[63], 1 / 500000 ** (126 / 128) / 8);
});

test("Gemma 2 soft-caps the final logits (c·tanh(x/c)) and the attention scores; Gemma 3 only the logits", async () => {
  const raw = await logits(await model("gemma2", { final_logit_softcapping: null }));
  const c = 0.05;
  const capped = await logits(await model("gemma2", { final_logit_softcapping: c }));
  assert.equal(
    maxDiff(
      capped,
      raw.map((r) => r.map((v) => Math.tanh(v / c) * c)),
    ),
    0,
  );
  assert.ok(maxAbs(capped) < c);

  // A vanishing cap flattens the scores: the same as a vanishing scale.
  const flatByCap = await logits(await model("gemma2", { attn_logit_softcapping: 1e-9 }));
  const flatByScale = await logits(
    await model("gemma2", { attn_logit_softcapping: null, query_pre_attn_scalar: 1e30 }),
  );
  assert.ok(relDiff(flatByScale, flatByCap) < 1e-7);
  assert.ok(
    relDiff(flatByScale, await logits(await model("gemma2"))) > 1e-4,
    "the default cap and scale matter",
  );
  // A huge cap is no cap.
  const noCap = await logits(await model("gemma2", { attn_logit_softcapping: null }));
  assert.ok(relDiff(noCap, await logits(await model("gemma2", { attn_logit_softcapping: 1e9 }))) < 1e-12);

  // Gemma 3 keeps attn_logit_softcapping in its config but its attention never applies it; the final cap it does.
  const g3 = await logits(await model("gemma3_text"));
  assert.equal(maxDiff(g3, await logits(await model("gemma3_text", { attn_logit_softcapping: 1e-9 }))), 0);
  const g3capped = await logits(await model("gemma3_text", { final_logit_softcapping: c }));
  assert.equal(
    maxDiff(
      g3capped,
      g3.map((r) => r.map((v) => Math.tanh(v / c) * c)),
    ),
    0,
  );
});

test("q_norm/k_norm: per head in Qwen 3 and Gemma 3, over the whole projection in OLMo 2", async () => {
  // Scaling some rows of q_proj/k_proj: a per-head RMSNorm undoes it head by head, a whole-vector
  // RMSNorm only when every row is scaled, and no norm (Llama) never. eps ≈ 0 makes it exact.
  const scaleRows = (dir: string, name: string, rows: (size: number) => number) =>
    convert(
      dir,
      name,
      (ts) =>
        ts.map((t) => {
          if (!/^model\.layers\.0\.self_attn\.[qk]_proj\.weight$/.test(t.name)) return t;
          const w = f32(t);
          const n = rows(t.entry.shape[0]!) * t.entry.shape[1]!;
          for (let i = 0; i < n; i++) w[i] = w[i]! * 4;
          return withValues(t, w);
        }),
      {},
    );
  const headZero = () => 16; // head_dim rows: query head 0 and kv head 0
  const allRows = (size: number) => size;
  const eps = { rms_norm_eps: 1e-24 }; // OLMo 2 projects raw embeddings: mean(q²) ~ 3e-6
  for (const [family, perHead, whole] of [
    ["qwen3", true, true],
    ["gemma3_text", true, true],
    ["olmo2", false, true],
    ["llama", false, false],
  ] as const) {
    const dir = await model(family, eps);
    const base = await logits(dir);
    const oneHead = relDiff(base, await logits(await scaleRows(dir, `${family}-qk-head0`, headZero)));
    const every = relDiff(base, await logits(await scaleRows(dir, `${family}-qk-all`, allRows)));
    assert.equal(oneHead < 1e-9, perHead, `${family}: one head scaled, rel diff ${oneHead}`);
    assert.equal(every < 1e-9, whole, `${family}: all rows scaled, rel diff ${every}`);
  }
});

test("block expansion leaves the reference logits of every family unchanged, sliding layers included", async () => {
  // Windows and local RoPE small enough that a layer changing its attention kind would show.
  const configs: Record<string, Record<string, unknown>> = {
    mistral: { sliding_window: 3 },
    qwen2: { use_sliding_window: true, sliding_window: 2, max_window_layers: 1 },
    qwen3: { use_sliding_window: true, sliding_window: 2, max_window_layers: 1 },
    gemma2: { sliding_window: 2 },
    gemma3_text: { sliding_window: 2, sliding_window_pattern: 2, rope_local_base_freq: 100 },
  };
  for (const family of FAMILIES) {
    // Two layers, a new one after each: the base's layer 1 becomes layer 2.
    const base = await fixture(root, { family, layers: 2, dtype: "F32", config: configs[family] ?? {} });
    const out = join(root, `${family}-expanded`);
    await upscale({ model: base, out, method: "expand", blocks: 2 });
    assert.equal(maxDiff(await logits(base), await logits(out)), 0, family);
  }
});
