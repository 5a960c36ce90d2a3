// A plain float64 forward pass of a Llama-family decoder, loops over typed arrays and nothing else:
// the independent reference that tests compare deepen's outputs against.
import { decodeFloats, DTYPE_BYTES } from "../../src/checkpoint/dtype.js";
import { openModelFolder } from "../../src/checkpoint/modelFolder.js";
import { tensorBytes } from "../helpers.js";

type Weights = Map<string, Float64Array>;

async function loadWeights(dir: string): Promise<{ w: Weights; config: Record<string, unknown> }> {
  const m = await openModelFolder(dir);
  const w: Weights = new Map();
  for (const [name, e] of m.tensors) {
    const bytes = await tensorBytes(e);
    const f32 = new Float32Array(bytes.length / DTYPE_BYTES[e.dtype]);
    decodeFloats(e.dtype, bytes, f32);
    w.set(name, Float64Array.from(f32));
  }
  return { w, config: m.config };
}

function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * weight[i]!);
}

/** y = W x for W stored [out, in] row-major, as safetensors stores Linear weights. */
function matvec(W: Float64Array, x: Float64Array): Float64Array {
  const out = new Float64Array(W.length / x.length);
  for (let o = 0; o < out.length; o++) {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += W[o * x.length + i]! * x[i]!;
    out[o] = s;
  }
  return out;
}

/** Rotate-half RoPE (the Hugging Face layout) on one head's vector at position `pos`. */
function rope(v: Float64Array, pos: number, theta: number): Float64Array {
  const d = v.length;
  const half = d / 2;
  const out = new Float64Array(d);
  for (let i = 0; i < half; i++) {
    const ang = pos / theta ** ((2 * i) / d);
    const c = Math.cos(ang);
    const s = Math.sin(ang);
    out[i] = v[i]! * c - v[i + half]! * s;
    out[i + half] = v[i + half]! * c + v[i]! * s;
  }
  return out;
}

/** Logits [T][vocab] of a Llama/Mistral checkpoint for `tokens`. */
export async function llamaLogits(dir: string, tokens: number[]): Promise<Float64Array[]> {
  const { w, config } = await loadWeights(dir);
  const H = config.hidden_size as number;
  const nh = config.num_attention_heads as number;
  const nkv = config.num_key_value_heads as number;
  const hd = (config.head_dim as number) ?? H / nh;
  const eps = config.rms_norm_eps as number;
  const theta = config.rope_theta as number;
  const L = config.num_hidden_layers as number;
  const get = (n: string) => {
    const t = w.get(n);
    if (!t) throw new Error(`missing ${n}`);
    return t;
  };
  const emb = get("model.embed_tokens.weight");
  let xs = tokens.map((t) => emb.slice(t * H, (t + 1) * H));
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const hs = xs.map((x) => rmsNorm(x, get(p + "input_layernorm.weight"), eps));
    const q = hs.map((h) => matvec(get(p + "self_attn.q_proj.weight"), h));
    const k = hs.map((h) => matvec(get(p + "self_attn.k_proj.weight"), h));
    const v = hs.map((h) => matvec(get(p + "self_attn.v_proj.weight"), h));
    const attnOut = xs.map((_, t) => {
      const out = new Float64Array(nh * hd);
      for (let h = 0; h < nh; h++) {
        const g = Math.floor(h / (nh / nkv)); // grouped-query: query head h reads kv head g
        const qh = rope(q[t]!.slice(h * hd, (h + 1) * hd), t, theta);
        const scores = [];
        for (let s = 0; s <= t; s++) {
          const kh = rope(k[s]!.slice(g * hd, (g + 1) * hd), s, theta);
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qh[i]! * kh[i]!;
          scores.push(dot / Math.sqrt(hd));
        }
        const mx = Math.max(...scores);
        const ex = scores.map((x) => Math.exp(x - mx));
        const z = ex.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) {
          for (let i = 0; i < hd; i++) out[h * hd + i]! += (ex[s]! / z) * v[s]![g * hd + i]!;
        }
      }
      return matvec(get(p + "self_attn.o_proj.weight"), out);
    });
    xs = xs.map((x, t) => x.map((val, i) => val + attnOut[t]![i]!));
    xs = xs.map((x) => {
      const h = rmsNorm(x, get(p + "post_attention_layernorm.weight"), eps);
      const gate = matvec(get(p + "mlp.gate_proj.weight"), h);
      const up = matvec(get(p + "mlp.up_proj.weight"), h);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = matvec(get(p + "mlp.down_proj.weight"), act);
      return x.map((val, i) => val + down[i]!);
    });
  }
  const head = w.get("lm_head.weight") ?? emb;
  return xs.map((x) => matvec(head, rmsNorm(x, get("model.norm.weight"), eps)));
}
