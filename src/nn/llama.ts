// The Llama-family decoder on deepen's graph IR, read top to bottom: embeddings, then per layer
// attention (grouped-query, RoPE, optional window and soft-capping) and a gated MLP, then the
// final norm and the head. Llama, Mistral, Qwen 2/3, Gemma 1/2/3, Phi-3, OLMo 2 and Granite are
// rows of VARIANTS (decoderConfig.ts), not branches of copies.
import { dirname } from "node:path";
import { CheckpointError } from "../errors.js";
import type { Segment } from "../graph/autodiff.js";
import type { Graph, Value } from "../graph/graph.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";

/** How keys and values reach attention: the prompt itself (forward) or a fixed-size cache plus the new token. */
export type AttentionMode = { kind: "full" } | { kind: "cached"; cacheLength: number };

export interface DecoderOptions {
  mode?: AttentionMode;
  /**
   * Positions and masks per batch row instead of one shared table: RoPE tables [B, 1, T, rd] and
   * masks [B, 1, 1, T, S], built on the host from per-token position ids and segment ids, so packed
   * examples restart their positions and attend only within their own segment. Off: [T, rd] and [T, S].
   */
  perRow?: boolean;
}

export interface DecoderGraph {
  tokens: Value;
  /** [B, T, vocab] */
  logits: Value;
  /** HF tensor name → graph input. */
  params: Map<string, Value>;
  /**
   * The residual stream [B, T, H]: entry 0 is the embeddings, entry l + 1 the output of layer l
   * (before the final norm). Values the forward computes anyway: they cost nothing unless a
   * caller makes them graph outputs.
   */
  residual: Value[];
  /** Per layer, its run of nodes from residual[l] to residual[l + 1]: what --recompute runs again. */
  layers: Segment[];
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
  opts: DecoderOptions = {},
): DecoderGraph {
  const mode = opts.mode ?? { kind: "full" };
  const { config: c, variant: v, heads: nh, kvHeads: nkv, headDim: hd } = d;
  const names = d.family.decoderTensors;
  const H = c.hidden_size;
  const group = nh / nkv;
  const S = mode.kind === "full" ? T : mode.cacheLength + T; // key/value positions attended over
  const params = new Map<string, Value>();
  const p = (name: string): Value => {
    let val = params.get(name);
    if (!val) {
      const shape = paramShapes.get(name);
      if (!shape) {
        throw new CheckpointError(
          dirname(d.source),
          `has no tensor ${name}, which ${d.family.architectures[0]} needs`,
        );
      }
      val = g.input(name, "float32", shape);
      params.set(name, val);
    }
    return val;
  };
  const has = (name: string) => paramShapes.has(name);
  const f = (x: number) => g.constant(x, [], "float32");
  const mul = (a: Value, b: Value) => g.op("Mul", [a, b]);
  const add = (a: Value, b: Value) => g.op("Add", [a, b]);
  /** x @ Wᵀ: checkpoints store Linear weights [out, in]. */
  const linearWeight = (x: Value, w: string) =>
    g.op("MatMul", [x, g.op("Transpose", [p(w)], { perm: [1, 0] })]);
  /** A Linear layer by its name without suffix: `${name}.weight`, plus `${name}.bias` where the checkpoint has one. */
  const linear = (x: Value, name: string) => {
    const y = linearWeight(x, `${name}.weight`);
    return has(`${name}.bias`) ? add(y, p(`${name}.bias`)) : y;
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
  // Shared tables broadcast over batch and heads; per-row ones carry the batch axis.
  const ropeShape = opts.perRow ? [B, 1, T, rd] : [T, rd];
  const maskShape = opts.perRow ? [B, 1, 1, T, S] : [T, S];

  const tokens = g.input("tokens", "int64", [B, T]);
  let x = g.op("Gather", [p(names.embed), tokens]); // [B, T, H]
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
  const residual: Value[] = [x];
  const layers: Segment[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const start = g.nodes.length;
    const pre = `${d.family.layerPrefix}${l}.`;
    const sliding = d.sliding[l]!;
    const local = v.localRope && sliding;

    // Attention.
    const h = v.norms === "post" ? x : rmsNorm(x, pre + names.inputNorm);
    let q: Value, k: Value, val: Value;
    if (v.fused) {
      const qkv = linear(h, pre + names.qkv); // [B, T, (nh + 2·nkv)·hd]
      const cut = (a: number, b: number) =>
        g.op("Slice", [qkv], { axes: [2], starts: [a * hd], ends: [b * hd] });
      q = cut(0, nh);
      k = cut(nh, nh + nkv);
      val = cut(nh + nkv, nh + 2 * nkv);
    } else {
      q = linear(h, pre + names.q); // [B, T, nh·hd]
      k = linear(h, pre + names.k); // [B, T, nkv·hd]
      val = linear(h, pre + names.v); // [B, T, nkv·hd]
    }
    if (v.qkNorm === "full") {
      q = rmsNorm(q, pre + names.qNorm);
      k = rmsNorm(k, pre + names.kNorm);
    }
    q = g.op("Reshape", [q], { shape: [B, T, nh, hd] });
    k = g.op("Reshape", [k], { shape: [B, T, nkv, hd] });
    val = g.op("Reshape", [val], { shape: [B, T, nkv, hd] });
    if (v.qkNorm === "per_head") {
      q = rmsNorm(q, pre + names.qNorm);
      k = rmsNorm(k, pre + names.kNorm);
    }
    q = g.op("Transpose", [q], { perm: [0, 2, 1, 3] }); // [B, nh, T, hd]
    k = g.op("Transpose", [k], { perm: [0, 2, 1, 3] }); // [B, nkv, T, hd]
    val = g.op("Transpose", [val], { perm: [0, 2, 1, 3] }); // [B, nkv, T, hd]
    const cos = aux(AUX.cos(local), ropeShape);
    const sin = aux(AUX.sin(local), ropeShape);
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
    scores = add(scores, aux(AUX.mask(sliding), maskShape));
    const probs = g.op("Softmax", [scores], { axis: -1 });
    const vg = g.op("Reshape", [values], { shape: [B, nkv, 1, S, hd] });
    let o = g.op("MatMul", [probs, vg]); // [B, nkv, group, T, hd]
    o = g.op("Reshape", [o], { shape: [B, nh, T, hd] });
    o = g.op("Reshape", [g.op("Transpose", [o], { perm: [0, 2, 1, 3] })], { shape: [B, T, nh * hd] });
    let attn = linear(o, pre + names.o);
    if (v.norms !== "pre") attn = rmsNorm(attn, pre + names.postAttentionNorm);
    x = add(x, scaleResidual(attn));

    // Gated MLP.
    const hm =
      v.norms === "post"
        ? x
        : rmsNorm(x, pre + (v.norms === "sandwich" ? names.preFeedforwardNorm : names.postAttentionNorm));
    let gate: Value, up: Value;
    if (v.fused) {
      const gu = linear(hm, pre + names.gateUp); // [B, T, 2·ffn]
      const I = c.intermediate_size;
      gate = g.op("Slice", [gu], { axes: [2], starts: [0], ends: [I] });
      up = g.op("Slice", [gu], { axes: [2], starts: [I], ends: [2 * I] });
    } else {
      gate = linear(hm, pre + names.gate);
      up = linear(hm, pre + names.up);
    }
    let mlp = linear(mul(act(gate), up), pre + names.down);
    if (v.norms !== "pre") mlp = rmsNorm(mlp, pre + names.postFeedforwardNorm);
    x = add(x, scaleResidual(mlp));
    layers.push({ start, end: g.nodes.length, input: residual[l]!, output: x });
    residual.push(x);
  }

  x = rmsNorm(x, names.finalNorm);
  // A tied head reads the embeddings: [B, T, V]
  let logits = has(names.head) ? linearWeight(x, names.head) : linearWeight(x, names.embed);
  if (c.final_logit_softcapping) {
    const cap = c.final_logit_softcapping;
    logits = mul(g.op("Tanh", [mul(logits, f(1 / cap))]), f(cap));
  }
  if (c.logits_scaling !== undefined) logits = mul(logits, f(1 / c.logits_scaling));
  return { tokens, logits, params, residual, layers, newKeys, newValues, pastKeys, pastValues };
}
