import type { OnnxModel } from "../graph/toOnnx.js";
import { auxFeeds, causalPositions } from "../nn/auxInputs.js";
import type { ResolvedDecoder } from "../nn/decoderConfig.js";
import { CompiledGraph, type HostTensor, type SessionOptions, int64Rows } from "../runtime/session.js";
import {
  accumulateGraph,
  ADAMW_DEFAULTS,
  type AdamWSettings,
  fusedStepGraph,
  STEP,
  updateGraph,
} from "./stepGraphs.js";

export interface Batch {
  /** [B][T] input tokens. */
  tokens: number[][];
  /** [B][T] next tokens. */
  targets: number[][];
  /** [B][T] 1 where the target counts (default: all). */
  weights?: number[][];
}

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
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
  /** Parameters that train (default: all). */
  trainable?: readonly string[];
  adamw?: Partial<AdamWSettings>;
  decay?: (name: string) => boolean;
  /** Micro-batches per optimizer step: 1 runs the fused graph, more run accumulate + update. */
  microBatches?: number;
  /** Global gradient-norm clipping threshold; 0 or undefined: no clipping. */
  clipNorm?: number;
}

const f32 = (v: number): HostTensor => ({ dtype: "float32", shape: [], data: Float32Array.of(v) });

/**
 * AdamW training of a decoder on the engine, for batches of shape [B, T]: owns the parameters and
 * moments between steps (updated ones replace the old after every step).
 */
export class EngineStep {
  private readonly m = new Map<string, HostTensor>();
  private readonly v = new Map<string, HostTensor>();
  private t = 0;
  readonly trainable: readonly string[];

  private constructor(
    readonly decoder: ResolvedDecoder,
    readonly params: Map<string, HostTensor>,
    private readonly B: number,
    private readonly T: number,
    private readonly graphs: { fused?: CompiledGraph; accumulate?: CompiledGraph; update?: CompiledGraph },
    trainable: readonly string[],
    private readonly settings: AdamWSettings,
    private readonly clipNorm: number,
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
    opts: EngineStepOptions = {},
  ): Promise<EngineStep> {
    const shapes = new Map([...params].map(([k, v]) => [k, v.shape]));
    const trainable = opts.trainable ?? [...params.keys()];
    const graphOpts = { trainable, adamw: opts.adamw, decay: opts.decay };
    const compile = (m: OnnxModel) => CompiledGraph.create(m, opts);
    const graphs =
      (opts.microBatches ?? 1) === 1
        ? { fused: await compile(fusedStepGraph(decoder, shapes, B, T, graphOpts)) }
        : {
            accumulate: await compile(accumulateGraph(decoder, shapes, B, T, trainable)),
            update: await compile(updateGraph(shapes, graphOpts)),
          };
    const clip = opts.clipNorm && opts.clipNorm > 0 ? opts.clipNorm : NO_CLIP;
    return new EngineStep(
      decoder,
      params,
      B,
      T,
      graphs,
      trainable,
      { ...ADAMW_DEFAULTS, ...opts.adamw },
      clip,
    );
  }

  get step(): number {
    return this.t;
  }

  private batchFeeds(b: Batch): Record<string, HostTensor> {
    const { B, T } = this;
    if (b.tokens.length !== B || b.tokens.some((r) => r.length !== T))
      throw new Error(`batch must be [${B}, ${T}]`);
    const weights = b.weights ?? b.tokens.map((r) => r.map(() => 1));
    return {
      ...auxFeeds(this.decoder, 0, T, causalPositions(T)),
      tokens: int64Rows(b.tokens),
      targets: int64Rows(b.targets),
      loss_weights: { dtype: "float32", shape: [B, T], data: Float32Array.from(weights.flat()) },
    };
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
  async run(micro: Batch[], lr: number): Promise<StepResult> {
    this.t++;
    const params = Object.fromEntries(this.params);
    if (this.graphs.fused) {
      if (micro.length !== 1) throw new Error("the fused step takes exactly one batch");
      const out = await this.graphs.fused.run({
        ...params,
        ...this.batchFeeds(micro[0]!),
        ...this.optimizerFeeds(lr),
      });
      return this.finish(out, (out.loss!.data as Float32Array)[0]!);
    }
    const { loss, sums } = await this.gradientSums(micro);
    const feeds: Record<string, HostTensor> = {
      ...this.optimizerFeeds(lr),
      [STEP.gradScale]: f32(1 / micro.length),
    };
    for (const name of this.trainable) {
      feeds[name] = this.params.get(name)!;
      feeds[STEP.grad(name)] = sums.get(name)!;
    }
    const out = await this.graphs.update!.run(feeds);
    return this.finish(out, loss / micro.length);
  }

  /** Takes the update only when loss and gradients are finite; otherwise the step never happened. */
  private finish(out: Record<string, HostTensor>, loss: number): StepResult {
    const gradNorm = (out.grad_norm!.data as Float32Array)[0]!;
    const nonFinite = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
    if (nonFinite) this.t--;
    else this.absorb(out);
    return { loss, gradNorm, nonFinite };
  }

  /** Step count and moments, for a checkpoint. */
  optimizerState(): OptimizerState {
    return { step: this.t, m: new Map(this.m), v: new Map(this.v) };
  }

  /** Restores a checkpoint's optimizer state (the parameters were given to create()). */
  restore(state: OptimizerState): void {
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
        throw new Error(`optimizer state has no moments of shape [${shape.join(", ")}] for ${name}`);
      }
      this.m.set(name, m);
      this.v.set(name, v);
    }
    this.t = state.step;
  }

  /** Sums of the micro-batches' gradients (each the gradient of its mean loss) and the summed loss; accumulate mode only. */
  async gradientSums(micro: Batch[]): Promise<{ loss: number; sums: Map<string, HostTensor> }> {
    if (!this.graphs.accumulate)
      throw new Error("gradientSums needs an EngineStep created with microBatches > 1");
    const params = Object.fromEntries(this.params);
    const acc: Record<string, HostTensor> = {};
    for (const name of this.trainable) {
      const p = this.params.get(name)!;
      acc[STEP.accIn(name)] = { dtype: "float32", shape: p.shape, data: new Float32Array(p.data.length) };
    }
    let loss = 0;
    for (const b of micro) {
      const out = await this.graphs.accumulate.run({ ...params, ...acc, ...this.batchFeeds(b) });
      loss += (out.loss!.data as Float32Array)[0]!;
      for (const name of this.trainable) acc[STEP.accIn(name)] = out[STEP.grad(name)]!;
    }
    return { loss, sums: new Map(this.trainable.map((n) => [n, acc[STEP.accIn(n)]!])) };
  }

  async release(): Promise<void> {
    for (const gr of Object.values(this.graphs)) await gr?.release();
  }
}
