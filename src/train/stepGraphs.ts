// Training on the engine: one graph computes the loss, the gradients and the AdamW update, so a
// step is a single session run (parameters and moments in, updated ones out). For gradient
// accumulation a gradients-only graph adds each micro-batch's gradients into running sums and an
// update graph applies AdamW to their mean, clipped exactly as the fused step clips. Frozen
// parameters are plain inputs: no gradient, no moments. What is minimised is the objective's: a
// LossBuilder adds it on top of the decoder's outputs.
import { gradients } from "../graph/autodiff.js";
import { Graph, type Value } from "../graph/graph.js";
import { toOnnx, type OnnxModel } from "../graph/toOnnx.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";
import { buildDecoder, type DecoderGraph, type DecoderOptions } from "../nn/llama.js";
import { GraphError } from "../errors.js";
import { ADAMW_DEFAULTS, type AdamWSettings } from "./defaults.js";

/** An objective's loss over the decoder's outputs: a scalar, and scalars it logs per step. */
export interface LossGraph {
  loss: Value;
  /** Logged with each step (averaged over micro-batches): DPO's rewards, say. */
  metrics?: Record<string, Value>;
}

/** Adds an objective's loss (and the inputs it needs) to a decoder graph of batch B, length T. */
export type LossBuilder = (g: Graph, dec: DecoderGraph, B: number, T: number) => LossGraph;

/** Norms and biases take no weight decay (the usual practice since GPT-2). */
export function decays(name: string): boolean {
  return !/norm|bias/.test(name);
}

/** Pretraining's default: no decay on norms, biases and embeddings. */
export function decaysExceptEmbeddings(name: string): boolean {
  return decays(name) && !/embed_tokens/.test(name);
}

export interface StepGraphOptions {
  /** Parameters that train; the rest are frozen. */
  trainable: readonly string[];
  loss: LossBuilder;
  /** The decoder's optional inputs the objective feeds (per-row positions and masks). */
  decoder?: DecoderOptions;
  adamw?: Partial<AdamWSettings>;
  /** Which trainable parameters take weight decay; default `decays`. */
  decay?: (name: string) => boolean;
  /**
   * Keep only each layer's input for the backward pass and run the layer again there (gradient
   * checkpointing, Chen et al., arXiv 1604.06174): one more forward's arithmetic for the memory of
   * all but one layer's activations.
   */
  recompute?: boolean;
}

/** What the optimizer update needs: which parameters train, AdamW's settings, which decay. */
export type UpdateOptions = Pick<StepGraphOptions, "trainable" | "adamw" | "decay">;

// Names of the step graph's extra inputs and outputs, shared with the code that feeds it.
export const STEP = {
  lr: "lr",
  /** 1 − β₁ᵗ and 1 − β₂ᵗ: bias corrections, computed on the host from the step number. */
  bc1: "bias_correction1",
  bc2: "bias_correction2",
  /** 1 / micro-batches: scales accumulated gradient sums to their mean. */
  gradScale: "grad_scale",
  /** Global-norm clipping threshold (f32 max disables it). */
  clip: "clip_norm",
  m: (p: string) => `adam_m/${p}`,
  v: (p: string) => `adam_v/${p}`,
  newParam: (p: string) => `new/${p}`,
  newM: (p: string) => `new_m/${p}`,
  newV: (p: string) => `new_v/${p}`,
  grad: (p: string) => `grad/${p}`,
  accIn: (p: string) => `acc_in/${p}`,
  metric: (name: string) => `metric/${name}`,
};

/** The step's scalars, computed once in the graph and shared by every parameter's update. */
interface AdamScalars {
  /** (1 − β₁) × the clipping factor, and (1 − β₂) × its square: the clip folded into the moments. */
  c1: Value;
  c2: Value;
  /** lr / (1 − β₁ᵗ), and 1 / √(1 − β₂ᵗ): the bias corrections folded into two scalars. */
  stepSize: Value;
  invSqrtBc2: Value;
  /** 1 − lr × weight decay: decoupled decay as one scaling of the parameter. */
  keep: Value;
}

/**
 * Decoupled AdamW (Loshchilov & Hutter, arXiv 1711.05101) for one parameter, as graph ops, on the
 * unclipped gradient: p ← p·(1 − lr·λ) − lr/(1−β₁ᵗ) · m′ / (√v′ / √(1−β₂ᵗ) + ε), with
 * m′ = β₁m + (1−β₁)·c·g and v′ = β₂v + (1−β₂)·c²·g², c the clipping factor. The same update as
 * clipping g, then bias-correcting m′ and v′, written so that every full-size pass is one op and no
 * clipped copy of the gradient is made: each pass reads and writes every element of the parameter,
 * so passes are what AdamW costs.
 */
function adamw(
  g: Graph,
  p: Value,
  grad: Value,
  name: string,
  s: AdamWSettings,
  decay: boolean,
  k: AdamScalars,
) {
  const f = (x: number) => g.constant(x, [], "float32");
  const m = g.input(STEP.m(name), "float32", p.shape);
  const v = g.input(STEP.v(name), "float32", p.shape);
  const newM = g.op("Add", [g.op("Mul", [m, f(s.beta1)]), g.op("Mul", [grad, k.c1])]);
  const newV = g.op("Add", [g.op("Mul", [v, f(s.beta2)]), g.op("Mul", [g.op("Mul", [grad, grad]), k.c2])]);
  const denom = g.op("Add", [g.op("Mul", [g.op("Sqrt", [newV]), k.invSqrtBc2]), f(s.eps)]);
  const step = g.op("Mul", [g.op("Div", [newM, denom]), k.stepSize]);
  const kept = decay && s.weightDecay > 0 ? g.op("Mul", [p, k.keep]) : p;
  return { newP: g.op("Sub", [kept, step]), newM, newV };
}

/** The scalars of `AdamScalars` from the step's inputs (lr, bias corrections, clip) and the gradient norm. */
function adamScalars(g: Graph, s: AdamWSettings, norm: Value): AdamScalars {
  const f = (x: number) => g.constant(x, [], "float32");
  const lr = g.input(STEP.lr, "float32", []);
  const bc1 = g.input(STEP.bc1, "float32", []);
  const bc2 = g.input(STEP.bc2, "float32", []);
  const clip = g.input(STEP.clip, "float32", []);
  // Gradients are scaled by clip / max(‖g‖, clip): unchanged below the threshold, norm `clip` above it.
  const factor = g.op("Div", [clip, g.op("Max", [norm, clip])]);
  return {
    c1: g.op("Mul", [factor, f(1 - s.beta1)]),
    c2: g.op("Mul", [g.op("Mul", [factor, factor]), f(1 - s.beta2)]),
    stepSize: g.op("Div", [lr, bc1]),
    invSqrtBc2: g.op("Div", [f(1), g.op("Sqrt", [bc2])]),
    keep: g.op("Sub", [f(1), g.op("Mul", [lr, f(s.weightDecay)])]),
  };
}

function checkTrainable(params: Map<string, Value>, trainable: readonly string[]) {
  for (const t of trainable) if (!params.has(t)) throw new GraphError(`no parameter ${t} to train`);
}

/** Σ‖g‖² over gradients, its square root: the global gradient norm. */
function globalNorm(g: Graph, grads: Value[]): Value {
  const sq = grads.map((d) =>
    g.op(
      "ReduceSum",
      [g.op("Reshape", [g.op("Mul", [d, d])], { shape: [d.shape.reduce((a, b) => a * b, 1)] })],
      {
        axes: [0],
        keepdims: 0,
      },
    ),
  );
  return g.op("Sqrt", [sq.reduce((a, b) => g.op("Add", [a, b]))]);
}

/** The decoder, the objective's loss on it and the gradients of the trainable parameters. */
function lossAndGradients(
  g: Graph,
  d: ResolvedDecoder,
  shapes: ReadonlyMap<string, readonly number[]>,
  B: number,
  T: number,
  opts: StepGraphOptions,
) {
  const dec = buildDecoder(g, d, shapes, B, T, opts.decoder);
  checkTrainable(dec.params, opts.trainable);
  const { loss, metrics = {} } = opts.loss(g, dec, B, T);
  const ps = opts.trainable.map((n) => dec.params.get(n)!);
  const outputs: Record<string, Value> = { loss };
  for (const [name, v] of Object.entries(metrics)) outputs[STEP.metric(name)] = v;
  const recompute = opts.recompute ? dec.layers : [];
  return { ps, grads: gradients(g, loss, ps, { recompute }), outputs };
}

/** AdamW on every trainable parameter from its gradient, clipped by the global norm, as new/, new_m/, new_v/ outputs. */
function updates(g: Graph, ps: Value[], grads: Value[], opts: UpdateOptions, outputs: Record<string, Value>) {
  const s = { ...ADAMW_DEFAULTS, ...opts.adamw };
  const norm = globalNorm(g, grads);
  outputs.grad_norm = norm;
  const k = adamScalars(g, s, norm);
  opts.trainable.forEach((name, i) => {
    const r = adamw(g, ps[i]!, grads[i]!, name, s, (opts.decay ?? decays)(name), k);
    outputs[STEP.newParam(name)] = r.newP;
    outputs[STEP.newM(name)] = r.newM;
    outputs[STEP.newV(name)] = r.newV;
  });
}

/** Loss, gradients and the AdamW update for batch [B, T], in one graph. */
export function fusedStepGraph(
  d: ResolvedDecoder,
  shapes: ReadonlyMap<string, readonly number[]>,
  B: number,
  T: number,
  opts: StepGraphOptions,
): OnnxModel {
  const g = new Graph();
  const { ps, grads, outputs } = lossAndGradients(g, d, shapes, B, T, opts);
  updates(g, ps, grads, opts, outputs);
  return toOnnx(g, outputs);
}

/** Loss and gradients for one micro-batch, added to the running sums fed in as acc_in/<name>. */
export function accumulateGraph(
  d: ResolvedDecoder,
  shapes: ReadonlyMap<string, readonly number[]>,
  B: number,
  T: number,
  opts: StepGraphOptions,
): OnnxModel {
  const g = new Graph();
  const { grads, outputs } = lossAndGradients(g, d, shapes, B, T, opts);
  opts.trainable.forEach((name, i) => {
    const acc = g.input(STEP.accIn(name), "float32", shapes.get(name)!);
    outputs[STEP.grad(name)] = g.op("Add", [acc, grads[i]!]);
  });
  return toOnnx(g, outputs);
}

/**
 * AdamW on the mean of accumulated gradient sums (grad/<name> × grad_scale), clipped by the global
 * norm of that mean: the same update the fused step makes from the whole batch's gradient.
 */
export function updateGraph(shapes: ReadonlyMap<string, readonly number[]>, opts: UpdateOptions): OnnxModel {
  const g = new Graph();
  const scale = g.input(STEP.gradScale, "float32", []);
  const grads = opts.trainable.map((name) =>
    g.op("Mul", [g.input(STEP.grad(name), "float32", shapes.get(name)!), scale]),
  );
  const ps = opts.trainable.map((name) => g.input(name, "float32", shapes.get(name)!));
  const outputs: Record<string, Value> = {};
  updates(g, ps, grads, opts, outputs);
  return toOnnx(g, outputs);
}
