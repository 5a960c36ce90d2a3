import { UsageError } from "../errors.js";
import { Graph, type Value } from "../graph/graph.js";
import { toOnnx } from "../graph/toOnnx.js";
import {
  checkDevice,
  type CompiledGraph,
  GraphCache,
  type HostTensor,
  type SessionOptions,
  int64Rows,
} from "../runtime/session.js";
import type { ResolvedDecoder } from "./decoderConfig.js";
import { auxFeeds, causalPositions } from "./auxInputs.js";
import { crossEntropy } from "./crossEntropy.js";
import { buildDecoder } from "./llama.js";
import { loadWeights } from "./loadParams.js";

/** A checkpoint ready to run: its weights in memory and its compiled graphs, built once per shape. */
export class DecoderModel {
  private readonly cache: GraphCache;
  private readonly shapes: Map<string, readonly number[]>;

  private constructor(
    readonly decoder: ResolvedDecoder,
    readonly params: Map<string, HostTensor>,
    opts: SessionOptions,
  ) {
    this.cache = new GraphCache(opts);
    this.shapes = new Map([...params].map(([k, v]) => [k, v.shape]));
  }

  static async load(dir: string, opts: SessionOptions = {}): Promise<DecoderModel> {
    await checkDevice(opts.device ?? "cpu"); // fail before the weights are read
    const w = await loadWeights(dir);
    return new DecoderModel(w.decoder, w.params, opts);
  }

  /** A model over parameters held elsewhere (a trainer's): it reads the map at every run, so updates show. */
  static fromParams(
    decoder: ResolvedDecoder,
    params: Map<string, HostTensor>,
    opts: SessionOptions = {},
  ): DecoderModel {
    return new DecoderModel(decoder, params, opts);
  }

  get vocabSize(): number {
    return this.decoder.config.vocab_size;
  }

  /** The parameters, RoPE tables and masks `graph` takes, for queries at [start, start + T). */
  private modelFeeds(graph: CompiledGraph, start: number, T: number, keyPos: number[]) {
    return {
      ...auxFeeds(this.decoder, start, T, keyPos, (n) => graph.takes(n)),
      ...graph.taken(this.params),
    };
  }

  /** Per-token negative log-likelihood of targets[b][t] given tokens[b][0..t] (float32 [B·T]). */
  async nll(tokens: number[][], targets: number[][]): Promise<Float32Array> {
    const B = tokens.length;
    const T = tokens[0]!.length;
    const graph = await this.cache.get(`nll:${B}x${T}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, B, T);
      const ce = crossEntropy(g, dec.logits, B, T);
      return toOnnx(g, { nll: ce.nll });
    });
    const out = await graph.run({
      ...this.modelFeeds(graph, 0, T, causalPositions(T)),
      tokens: int64Rows(tokens),
      targets: int64Rows(targets),
    });
    return out.nll!.data as Float32Array;
  }

  /** Logits [B, T, V] for a batch of equal-length token rows. */
  async logits(tokens: number[][]): Promise<Float32Array> {
    const B = tokens.length;
    const T = tokens[0]!.length;
    const graph = await this.cache.get(`logits:${B}x${T}`, () => {
      const g = new Graph();
      return toOnnx(g, { logits: buildDecoder(g, this.decoder, this.shapes, B, T).logits });
    });
    const out = await graph.run({
      ...this.modelFeeds(graph, 0, T, causalPositions(T)),
      tokens: int64Rows(tokens),
    });
    return out.logits!.data as Float32Array;
  }

  /**
   * The residual stream for a batch of equal-length rows: n + 1 arrays [B, T, H], the embeddings and
   * each layer's output (before the final norm), for measuring what layers do to it.
   */
  async residualStream(tokens: number[][]): Promise<Float32Array[]> {
    const B = tokens.length;
    const T = tokens[0]!.length;
    const graph = await this.cache.get(`residual:${B}x${T}`, () => {
      const g = new Graph();
      const outs: Record<string, Value> = {};
      buildDecoder(g, this.decoder, this.shapes, B, T).residual.forEach(
        (h, l) => (outs[`residual_${l}`] = h),
      );
      return toOnnx(g, outs);
    });
    const out = await graph.run({
      ...this.modelFeeds(graph, 0, T, causalPositions(T)),
      tokens: int64Rows(tokens),
    });
    return graph.outputs.map((name) => out[name]!.data as Float32Array);
  }

  /**
   * Starts incremental decoding of one sequence with room for `maxLength` tokens: `prefill` runs the
   * prompt once and fills the KV cache; each `step` runs one token against the cache.
   */
  decoding(maxLength: number): DecodingSession {
    return new DecodingSession(this, maxLength);
  }

  /** @internal */
  async runPrefill(prompt: number[]) {
    const T = prompt.length;
    const graph = await this.cache.get(`prefill:${T}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, 1, T);
      const outs: Record<string, ReturnType<typeof g.op>> = { logits: dec.logits };
      dec.newKeys.forEach((k, l) => (outs[`key_${l}`] = k));
      dec.newValues.forEach((v, l) => (outs[`value_${l}`] = v));
      return toOnnx(g, outs);
    });
    return graph.run({ ...this.modelFeeds(graph, 0, T, causalPositions(T)), tokens: int64Rows([prompt]) });
  }

  /** @internal */
  async runStep(token: number, position: number, cacheLength: number, past: Record<string, HostTensor>) {
    const graph = await this.cache.get(`step:${cacheLength}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, 1, 1, { mode: { kind: "cached", cacheLength } });
      const outs: Record<string, ReturnType<typeof g.op>> = { logits: dec.logits };
      dec.newKeys.forEach((k, l) => (outs[`key_${l}`] = k));
      dec.newValues.forEach((v, l) => (outs[`value_${l}`] = v));
      return toOnnx(g, outs);
    });
    // Cache slot s holds position s while s < position; empty slots are masked; the new token comes last.
    const keyPos = [...Array(cacheLength).keys()].map((s) => (s < position ? s : -1));
    keyPos.push(position);
    return graph.run({
      ...this.modelFeeds(graph, position, 1, keyPos),
      ...past,
      tokens: int64Rows([[token]]),
    });
  }

  async release(): Promise<void> {
    await this.cache.release();
  }
}

/** One sequence's KV cache: per layer [1, kv heads, maxLength, head_dim] keys and values. */
export class DecodingSession {
  private readonly past: Record<string, HostTensor> = {};
  private length = 0;

  constructor(
    private readonly model: DecoderModel,
    readonly maxLength: number,
  ) {
    const { kvHeads, headDim, config } = model.decoder;
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const kind of ["key", "value"]) {
        this.past[`past_${kind}_${l}`] = {
          dtype: "float32",
          shape: [1, kvHeads, maxLength, headDim],
          data: new Float32Array(kvHeads * maxLength * headDim),
        };
      }
    }
  }

  get position(): number {
    return this.length;
  }

  /** Copies keys/values [1, nkv, n, hd] for positions [at, at + n) into the cache. */
  private store(out: Record<string, HostTensor>, at: number, n: number) {
    const { kvHeads, headDim, config } = this.model.decoder;
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const kind of ["key", "value"]) {
        const src = out[`${kind}_${l}`]!.data as Float32Array;
        const dst = this.past[`past_${kind}_${l}`]!.data as Float32Array;
        for (let h = 0; h < kvHeads; h++) {
          dst.set(src.subarray(h * n * headDim, (h + 1) * n * headDim), (h * this.maxLength + at) * headDim);
        }
      }
    }
  }

  /** Runs the prompt; returns the logits [V] of its last position. */
  async prefill(prompt: number[]): Promise<Float32Array> {
    if (prompt.length === 0 || prompt.length > this.maxLength) {
      throw new UsageError(`a prompt of ${prompt.length} tokens does not fit a cache of ${this.maxLength}`);
    }
    const out = await this.model.runPrefill(prompt);
    this.store(out, 0, prompt.length);
    this.length = prompt.length;
    const V = this.model.vocabSize;
    return (out.logits!.data as Float32Array).slice((prompt.length - 1) * V, prompt.length * V);
  }

  /** Feeds one token at the next position; returns the logits [V] for the position after it. */
  async step(token: number): Promise<Float32Array> {
    if (this.length >= this.maxLength)
      throw new UsageError(`the KV cache is full at ${this.maxLength} tokens`);
    const out = await this.model.runStep(token, this.length, this.maxLength, this.past);
    this.store(out, this.length, 1);
    this.length++;
    return out.logits!.data as Float32Array;
  }
}
