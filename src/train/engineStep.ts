import { CheckpointError, GraphError } from "../errors.js";
import { auxFeeds, causalPositions, perRowAuxFeeds } from "../nn/auxInputs.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";
import type { DecoderOptions } from "../nn/llama.js";
import { CompiledGraph, type HostTensor, type SessionOptions, int64Rows } from "../runtime/session.js";
import { ADAMW_DEFAULTS, type AdamWSettings } from "./defaults.js";
import { accumulateGraph, fusedStepGraph, type LossBuilder, STEP, updateGraph } from "./stepGraphs.js";

/** One micro-batch as the step graphs take it: the decoder's rows and the objective's loss inputs. */
export interface StepBatch {
  /** [B][T] input tokens. */
  tokens: number[][];
  /** [B][T] position ids and segment ids, for a decoder built with `perRow` (packed examples). */
  positions?: number[][];
  segments?: number[][];
  /** The loss's own inputs (targets, weights, reference log-probabilities…) by graph input name. */
  feeds: Record<string, HostTensor>;
  /** Tokens the model reads in this micro-batch (padding excluded): what "tokens seen" and tok/s count. */
  tokenCount: number;
}

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The objective's per-step scalars (averaged over micro-batches). */
  metrics: Record<string, number>;
  /** The loss or the gradients were not finite: nothing was updated and the step was not counted. */
  nonFinite: boolean;
}

/** What resuming needs besides the parameters: the optimizer's step count and moments. */
export interface OptimizerState {
  step: number;
  m: Map<string, HostTensor>;
  v: Map<string, HostTensor>;
}

/** clip_norm input that disables clipping: the largest float32. */
const NO_CLIP = 3.4028234663852886e38;

export interface EngineStepOptions extends SessionOptions {
  /** What the step minimises, built on the decoder's outputs. */
  loss: LossBuilder;
  /** The decoder's optional inputs the batches carry (per-row positions and masks). */
  decoder?: DecoderOptions;
  /** Parameters that train (default: all). */
  trainable?: readonly string[];
  adamw?: Partial<AdamWSettings>;
  decay?: (name: string) => boolean;
  /** Micro-batches per optimizer step: 1 runs the fused graph, more run accumulate + update. */
  microBatches?: number;
  /** Global gradient-norm clipping threshold; 0 or undefined: no clipping. */
  clipNorm?: number;
  /** Shorter row lengths batches may have besides T (SFT pads a micro-batch to the shortest that
   * holds its examples); each is compiled on first use. */
  lengths?: readonly number[];
  /** Recompute each layer's activations in the backward pass instead of keeping them. */
  recompute?: boolean;
}

const f32 = (v: number): HostTensor => ({ dtype: "float32", shape: [], data: Float32Array.of(v) });

/**
 * AdamW training of a decoder on the engine, for batches of B rows of T tokens, or of any of the
 * shorter row lengths `lengths` allows (each compiled on first use; the update is shared): owns the
 * parameters and moments between steps (updated ones replace the old after every step).
 */
export class EngineStep {
  private readonly m = new Map<string, HostTensor>();
  private readonly v = new Map<string, HostTensor>();
  private t = 0;
  readonly trainable: readonly string[];
  /** The fused step (one micro-batch) or the accumulate graph, by row length. */
  private readonly byLength = new Map<number, Promise<CompiledGraph>>();

  private constructor(
    readonly decoder: ResolvedDecoder,
    readonly params: Map<string, HostTensor>,
    private readonly B: number,
    private readonly lengths: readonly number[],
    private readonly compile: (T: number) => Promise<CompiledGraph>,
    private readonly update: CompiledGraph | undefined,
    trainable: readonly string[],
    private readonly settings: AdamWSettings,
    private readonly clipNorm: number,
    private readonly perRow: boolean,
  ) {
    this.trainable = trainable;
    for (const name of trainable) {
      const p = params.get(name)!;
      this.m.set(name, { dtype: "float32", shape: p.shape, data: new Float32Array(p.data.length) });
      this.v.set(name, { dtype: "float32", shape: p.shape, data: new Float32Array(p.data.length) });
    }
  }

  static async create(
    decoder: ResolvedDecoder,
    params: Map<string, HostTensor>,
    B: number,
    T: number,
    opts: EngineStepOptions,
  ): Promise<EngineStep> {
    const shapes = new Map([...params].map(([k, v]) => [k, v.shape]));
    const trainable = opts.trainable ?? [...params.keys()];
    const graphOpts = {
      trainable,
      adamw: opts.adamw,
      decay: opts.decay,
      loss: opts.loss,
      decoder: opts.decoder,
      recompute: opts.recompute,
    };
    const fused = (opts.microBatches ?? 1) === 1;
    const session = { memPattern: false, ...opts };
    const compile = (len: number) =>
      CompiledGraph.create(
        fused
          ? fusedStepGraph(decoder, shapes, B, len, graphOpts)
          : accumulateGraph(decoder, shapes, B, len, graphOpts),
        session,
      );
    const update = fused ? undefined : await CompiledGraph.create(updateGraph(shapes, graphOpts), session);
    const lengths = [...new Set([...(opts.lengths ?? []), T])].sort((a, b) => a - b);
    const clip = opts.clipNorm && opts.clipNorm > 0 ? opts.clipNorm : NO_CLIP;
    const step = new EngineStep(
      decoder,
      params,
      B,
      lengths,
      compile,
      update,
      trainable,
      { ...ADAMW_DEFAULTS, ...opts.adamw },
      clip,
      !!opts.decoder?.perRow,
    );
    // The full length is compiled now: a graph that cannot be built fails before any step is run.
    await step.graphFor(T);
    return step;
  }

  private graphFor(T: number): Promise<CompiledGraph> {
    if (!this.lengths.includes(T))
      throw new GraphError(
        `a micro-batch must be [${this.B}, T] tokens with T one of ${this.lengths.join(", ")}`,
      );
    let g = this.byLength.get(T);
    if (!g) {
      g = this.compile(T);
      this.byLength.set(T, g);
    }
    return g;
  }

  get step(): number {
    return this.t;
  }

  /** The parameters, the batch's decoder inputs and the objective's feeds, for `graph`. */
  private batchFeeds(graph: CompiledGraph, b: StepBatch): Record<string, HostTensor> {
    const B = this.B;
    const T = b.tokens[0]?.length ?? 0;
    if (b.tokens.length !== B || b.tokens.some((r) => r.length !== T))
      throw new GraphError(`a micro-batch must be [${B}, ${T}] tokens`);
    const takes = (n: string) => graph.takes(n);
    if (!this.perRow && (b.positions || b.segments))
      throw new GraphError("position and segment ids need a step created with decoder: { perRow: true }");
    const aux = this.perRow
      ? perRowAuxFeeds(
          this.decoder,
          b.positions ?? b.tokens.map(() => causalPositions(T)),
          b.segments ?? b.tokens.map(() => new Array<number>(T).fill(0)),
          takes,
        )
      : auxFeeds(this.decoder, 0, T, causalPositions(T), takes);
    return { ...aux, ...b.feeds, tokens: int64Rows(b.tokens), ...graph.taken(this.params) };
  }

  private optimizerFeeds(lr: number): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = {};
    const { beta1, beta2 } = this.settings;
    feeds[STEP.lr] = f32(lr);
    feeds[STEP.bc1] = f32(1 - beta1 ** this.t);
    feeds[STEP.bc2] = f32(1 - beta2 ** this.t);
    feeds[STEP.clip] = f32(this.clipNorm);
    for (const name of this.trainable) {
      feeds[STEP.m(name)] = this.m.get(name)!;
      feeds[STEP.v(name)] = this.v.get(name)!;
    }
    return feeds;
  }

  private absorb(out: Record<string, HostTensor>) {
    for (const name of this.trainable) {
      this.params.set(name, out[STEP.newParam(name)]!);
      this.m.set(name, out[STEP.newM(name)]!);
      this.v.set(name, out[STEP.newV(name)]!);
    }
  }

  /** One optimizer step over `micro` (one batch per micro-batch) at learning rate `lr`. */
  async run(micro: StepBatch[], lr: number): Promise<StepResult> {
    this.t++;
    if (!this.update) {
      if (micro.length !== 1) throw new GraphError("the fused step takes exactly one micro-batch");
      const fused = await this.graphFor(micro[0]!.tokens[0]?.length ?? 0);
      const out = await fused.run({ ...this.batchFeeds(fused, micro[0]!), ...this.optimizerFeeds(lr) });
      return this.finish(out, scalar(out.loss!), metricsOf(fused, out, 1));
    }
    const { loss, sums, metrics } = await this.gradientSums(micro);
    const feeds: Record<string, HostTensor> = {
      ...this.optimizerFeeds(lr),
      [STEP.gradScale]: f32(1 / micro.length),
    };
    for (const name of this.trainable) {
      feeds[name] = this.params.get(name)!;
      feeds[STEP.grad(name)] = sums.get(name)!;
    }
    const out = await this.update.run(feeds);
    return this.finish(out, loss / micro.length, metrics);
  }

  /** Takes the update only when loss and gradients are finite; otherwise the step never happened. */
  private finish(out: Record<string, HostTensor>, loss: number, metrics: Record<string, number>): StepResult {
    const gradNorm = scalar(out.grad_norm!);
    const nonFinite = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
    if (nonFinite) this.t--;
    else this.absorb(out);
    return { loss, gradNorm, metrics, nonFinite };
  }

  /** Step count and moments, for a checkpoint. */
  optimizerState(): OptimizerState {
    return { step: this.t, m: new Map(this.m), v: new Map(this.v) };
  }

  /** Restores a checkpoint's optimizer state, read from `source` (the parameters were given to create()). */
  restore(state: OptimizerState, source: string): void {
    for (const name of this.trainable) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      const shape = this.params.get(name)!.shape;
      if (
        !m ||
        !v ||
        m.data.length !== v.data.length ||
        m.data.length !== this.params.get(name)!.data.length
      ) {
        throw new CheckpointError(source, `no AdamW moments of shape [${shape.join(", ")}] for ${name}`);
      }
      this.m.set(name, m);
      this.v.set(name, v);
    }
    this.t = state.step;
  }

  /**
   * Sums of the micro-batches' gradients (each the gradient of its loss), the summed loss and the
   * objective's metrics averaged over the micro-batches; accumulate mode only.
   */
  async gradientSums(
    micro: StepBatch[],
  ): Promise<{ loss: number; sums: Map<string, HostTensor>; metrics: Record<string, number> }> {
    if (!this.update) throw new GraphError("gradientSums needs an EngineStep created with microBatches > 1");
    const acc: Record<string, HostTensor> = {};
    for (const name of this.trainable) {
      const p = this.params.get(name)!;
      acc[STEP.accIn(name)] = { dtype: "float32", shape: p.shape, data: new Float32Array(p.data.length) };
    }
    let loss = 0;
    const metrics: Record<string, number> = {};
    for (const b of micro) {
      const accumulate = await this.graphFor(b.tokens[0]?.length ?? 0);
      const out = await accumulate.run({ ...this.batchFeeds(accumulate, b), ...acc });
      loss += scalar(out.loss!);
      for (const [k, v] of Object.entries(metricsOf(accumulate, out, micro.length)))
        metrics[k] = (metrics[k] ?? 0) + v;
      for (const name of this.trainable) acc[STEP.accIn(name)] = out[STEP.grad(name)]!;
    }
    return { loss, sums: new Map(this.trainable.map((n) => [n, acc[STEP.accIn(n)]!])), metrics };
  }

  async release(): Promise<void> {
    for (const gr of this.byLength.values()) await (await gr).release();
    await this.update?.release();
  }
}

const scalar = (t: HostTensor) => Number(t.data[0]!);

/** The objective's metric outputs of one run, each divided by `of` (the micro-batches averaged). */
function metricsOf(
  graph: CompiledGraph,
  out: Record<string, HostTensor>,
  of: number,
): Record<string, number> {
  const prefix = STEP.metric("");
  const metrics: Record<string, number> = {};
  for (const name of graph.outputs)
    if (name.startsWith(prefix)) metrics[name.slice(prefix.length)] = scalar(out[name]!) / of;
  return metrics;
}
