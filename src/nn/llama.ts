// The Llama-family decoder on deepen's graph IR, read top to bottom: embeddings, then per layer
// attention (grouped-query, RoPE, optional window and soft-capping) and a gated MLP, then the
// final norm and the head. Llama, Mistral, Qwen 2/3, Gemma 1/2/3, Phi-3, OLMo 2 and Granite are
// rows of VARIANTS (decoderConfig.ts), not branches of copies.
import type { Graph, Value } from "../graph/graph.js";
import type { ResolvedDecoder } from "./decoderConfig.js";

/** How keys and values reach attention: the prompt itself (forward) or a fixed-size cache plus the new token. */
export type AttentionMode = { kind: "full" } | { kind: "cached"; cacheLength: number };

export interface DecoderGraph {
  tokens: Value;
  /** [B, T, vocab] */
  logits: Value;
  /** HF tensor name → graph input. */
  params: Map<string, Value>;
  /** Per layer, the keys and values this call adds ([B, kv heads, T, head_dim], after RoPE). */
  newKeys: Value[];
  newValues: Value[];
  /** Per layer, the cache inputs (cached mode). */
  pastKeys: Value[];
  pastValues: Value[];
}

/** Names of the auxiliary inputs (RoPE tables and masks) the caller feeds. */
export const AUX = {
  cos: (local: boolean) => (local ? "rope_cos_local" : "rope_cos"),
  sin: (local: boolean) => (local ? "rope_sin_local" : "rope_sin"),
  mask: (sliding: boolean) => (sliding ? "mask_sliding" : "mask_full"),
};

/**
 * Builds the decoder for batch B and T new tokens. `paramShapes` gives every checkpoint tensor's
 * shape; parameters become graph inputs named as in the checkpoint.
 */
export function buildDecoder(
  g: Graph,
  d: ResolvedDecoder,
  paramShapes: ReadonlyMap<string, readonly number[]>,
  B: number,
  T: number,
  mode: AttentionMode = { kind: "full" },
): DecoderGraph {
  const { config: c, variant: v, heads: nh, kvHeads: nkv, headDim: hd } = d;
  const H = c.hidden_size;
  const group = nh / nkv;
  const S = mode.kind === "full" ? T : mode.cacheLength + T; // key/value positions attended over
  const params = new Map<string, Value>();
  const p = (name: string): Value => {
    let val = params.get(name);
    if (!val) {
      const shape = paramShapes.get(name);
      if (!shape) throw new Error(`checkpoint has no tensor ${name}`);
      val = g.input(name, "float32", shape);
      params.set(name, val);
    }
    return val;
  };
  const has = (name: string) => paramShapes.has(name);
  const f = (x: number) => g.constant(x, [], "float32");
  const mul = (a: Value, b: Value) => g.op("Mul", [a, b]);
  const add = (a: Value, b: Value) => g.op("Add", [a, b]);
  /** x @ Wᵀ (+ b): checkpoints store Linear weights [out, in]. */
  const linear = (x: Value, w: string, b?: string) => {
    let y = g.op("MatMul", [x, g.op("Transpose", [p(w)], { perm: [1, 0] })]);
    if (b && has(b)) y = add(y, p(b));
    return y;
  };
  const rmsNorm = (x: Value, w: string) => {
    const ms = g.op("ReduceMean", [mul(x, x)], { axes: [-1], keepdims: 1 });
    const normed = g.op("Div", [x, g.op("Sqrt", [add(ms, f(c.rms_norm_eps))])]);
    return mul(normed, v.normPlusOne ? add(p(w), f(1)) : p(w));
  };
  const act = (x: Value) => {
    if (v.activation === "silu") return mul(x, g.op("Sigmoid", [x]));
    // GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const inner = mul(f(Math.sqrt(2 / Math.PI)), add(x, mul(f(0.044715), mul(x, mul(x, x)))));
    return mul(mul(f(0.5), x), add(f(1), g.op("Tanh", [inner])));
  };
  const rd = d.rotaryDim;
  /** Rotate-half RoPE on the first rd dims of [B, heads, T, hd] with tables [T, rd]; the rest pass through. */
  const rope = (x: Value, cos: Value, sin: Value) => {
    const axes = [3];
    const xr = rd === hd ? x : g.op("Slice", [x], { axes, starts: [0], ends: [rd] });
    const x1 = g.op("Slice", [xr], { axes, starts: [0], ends: [rd / 2] });
    const x2 = g.op("Slice", [xr], { axes, starts: [rd / 2], ends: [rd] });
    const rotated = g.op("Concat", [g.op("Neg", [x2]), x1], { axis: 3 });
    const out = add(mul(xr, cos), mul(rotated, sin));
    return rd === hd
      ? out
      : g.op("Concat", [out, g.op("Slice", [x], { axes, starts: [rd], ends: [hd] })], { axis: 3 });
  };
  const aux = (name: string, shape: number[]) =>
    g.inputs.find((i) => i.name === name) ?? g.input(name, "float32", shape);

  const tokens = g.input("tokens", "int64", [B, T]);
  let x = g.op("Gather", [p("model.embed_tokens.weight"), tokens]); // [B, T, H]
  if (v.embedSqrtHidden) x = mul(x, f(Math.sqrt(H)));
  if (c.embedding_multiplier !== undefined) x = mul(x, f(c.embedding_multiplier));
  const residualScale = c.residual_multiplier;
  const scaleResidual = (y: Value) => (residualScale === undefined ? y : mul(y, f(residualScale)));
  const attnScale = c.query_pre_attn_scalar
    ? c.query_pre_attn_scalar ** -0.5
    : (c.attention_multiplier ?? 1 / Math.sqrt(hd));

  const newKeys: Value[] = [];
  const newValues: Value[] = [];
  const pastKeys: Value[] = [];
  const pastValues: Value[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const pre = `model.layers.${l}.`;
    const sliding = d.sliding[l]!;
    const local = v.localRope && sliding;

    // Attention.
    const h = v.norms === "post" ? x : rmsNorm(x, pre + "input_layernorm.weight");
    let q: Value, k: Value, val: Value;
    if (v.fused) {
      const qkv = linear(h, pre + "self_attn.qkv_proj.weight"); // [B, T, (nh + 2·nkv)·hd]
      const cut = (a: number, b: number) =>
        g.op("Slice", [qkv], { axes: [2], starts: [a * hd], ends: [b * hd] });
      q = cut(0, nh);
      k = cut(nh, nh + nkv);
      val = cut(nh + nkv, nh + 2 * nkv);
    } else {
      q = linear(h, pre + "self_attn.q_proj.weight", pre + "self_attn.q_proj.bias"); // [B, T, nh·hd]
      k = linear(h, pre + "self_attn.k_proj.weight", pre + "self_attn.k_proj.bias"); // [B, T, nkv·hd]
      val = linear(h, pre + "self_attn.v_proj.weight", pre + "self_attn.v_proj.bias");
    }
    if (v.qkNorm === "full") {
      q = rmsNorm(q, pre + "self_attn.q_norm.weight");
      k = rmsNorm(k, pre + "self_attn.k_norm.weight");
    }
    q = g.op("Reshape", [q], { shape: [B, T, nh, hd] });
    k = g.op("Reshape", [k], { shape: [B, T, nkv, hd] });
    val = g.op("Reshape", [val], { shape: [B, T, nkv, hd] });
    if (v.qkNorm === "per_head") {
      q = rmsNorm(q, pre + "self_attn.q_norm.weight");
      k = rmsNorm(k, pre + "self_attn.k_norm.weight");
    }
    q = g.op("Transpose", [q], { perm: [0, 2, 1, 3] }); // [B, nh, T, hd]
    k = g.op("Transpose", [k], { perm: [0, 2, 1, 3] }); // [B, nkv, T, hd]
    val = g.op("Transpose", [val], { perm: [0, 2, 1, 3] }); // [B, nkv, T, hd]
    const cos = aux(AUX.cos(local), [T, rd]);
    const sin = aux(AUX.sin(local), [T, rd]);
    q = rope(q, cos, sin);
    k = rope(k, cos, sin);
    newKeys.push(k);
    newValues.push(val);
    let keys = k;
    let values = val;
    if (mode.kind === "cached") {
      const pk = g.input(`past_key_${l}`, "float32", [B, nkv, mode.cacheLength, hd]);
      const pv = g.input(`past_value_${l}`, "float32", [B, nkv, mode.cacheLength, hd]);
      pastKeys.push(pk);
      pastValues.push(pv);
      keys = g.op("Concat", [pk, k], { axis: 2 }); // [B, nkv, S, hd]
      values = g.op("Concat", [pv, val], { axis: 2 });
    }
    // Grouped-query attention: query heads in groups of `group` share one key/value head.
    const qg = g.op("Reshape", [q], { shape: [B, nkv, group, T, hd] });
    const kt = g.op("Reshape", [g.op("Transpose", [keys], { perm: [0, 1, 3, 2] })], {
      shape: [B, nkv, 1, hd, S],
    });
    let scores = mul(g.op("MatMul", [qg, kt]), f(attnScale)); // [B, nkv, group, T, S]
    if (c.attn_logit_softcapping) {
      const cap = c.attn_logit_softcapping;
      scores = mul(g.op("Tanh", [mul(scores, f(1 / cap))]), f(cap));
    }
    scores = add(scores, aux(AUX.mask(sliding), [T, S]));
    const probs = g.op("Softmax", [scores], { axis: -1 });
    const vg = g.op("Reshape", [values], { shape: [B, nkv, 1, S, hd] });
    let o = g.op("MatMul", [probs, vg]); // [B, nkv, group, T, hd]
    o = g.op("Reshape", [o], { shape: [B, nh, T, hd] });
    o = g.op("Reshape", [g.op("Transpose", [o], { perm: [0, 2, 1, 3] })], { shape: [B, T, nh * hd] });
    let attn = linear(o, pre + "self_attn.o_proj.weight", pre + "self_attn.o_proj.bias");
    if (v.norms !== "pre") attn = rmsNorm(attn, pre + "post_attention_layernorm.weight");
    x = add(x, scaleResidual(attn));

    // Gated MLP.
    const hm =
      v.norms === "post"
        ? x
        : rmsNorm(
            x,
            pre +
              (v.norms === "sandwich"
                ? "pre_feedforward_layernorm.weight"
                : "post_attention_layernorm.weight"),
          );
    let gate: Value, up: Value;
    if (v.fused) {
      const gu = linear(hm, pre + "mlp.gate_up_proj.weight"); // [B, T, 2·ffn]
      const I = c.intermediate_size;
      gate = g.op("Slice", [gu], { axes: [2], starts: [0], ends: [I] });
      up = g.op("Slice", [gu], { axes: [2], starts: [I], ends: [2 * I] });
    } else {
      gate = linear(hm, pre + "mlp.gate_proj.weight", pre + "mlp.gate_proj.bias");
      up = linear(hm, pre + "mlp.up_proj.weight", pre + "mlp.up_proj.bias");
    }
    let mlp = linear(mul(act(gate), up), pre + "mlp.down_proj.weight", pre + "mlp.down_proj.bias");
    if (v.norms !== "pre") mlp = rmsNorm(mlp, pre + "post_feedforward_layernorm.weight");
    x = add(x, scaleResidual(mlp));
  }

  x = rmsNorm(x, "model.norm.weight");
  let logits = linear(x, has("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight"); // [B, T, V]
  if (c.final_logit_softcapping) {
    const cap = c.final_logit_softcapping;
    logits = mul(g.op("Tanh", [mul(logits, f(1 / cap))]), f(cap));
  }
  if (c.logits_scaling !== undefined) logits = mul(logits, f(1 / c.logits_scaling));
  return { tokens, logits, params, newKeys, newValues, pastKeys, pastValues };
}

/**
 * Mean next-token cross-entropy: logits [B, T, V], targets [B, T] (int64), weights [B, T] (1 where
 * a token counts). Also returns the per-token negative log-likelihood [B, T].
 */
export function crossEntropy(
  g: Graph,
  logits: Value,
  B: number,
  T: number,
): { loss: Value; nll: Value; targets: Value; weights: Value } {
  const targets = g.input("targets", "int64", [B, T]);
  const weights = g.input("loss_weights", "float32", [B, T]);
  const logp = g.op("LogSoftmax", [logits], { axis: -1 });
  const picked = g.op("GatherLast", [logp, g.op("Reshape", [targets], { shape: [B, T, 1] })]); // [B, T, 1]
  const nll = g.op("Neg", [g.op("Reshape", [picked], { shape: [B, T] })]);
  const total = g.op("ReduceSum", [g.op("Mul", [nll, weights])], { axes: [0, 1], keepdims: 0 });
  const count = g.op("ReduceSum", [weights], { axes: [0, 1], keepdims: 0 });
  return { loss: g.op("Div", [total, count]), nll, targets, weights };
}
