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
import type { ResolvedDecoder } from "../arch/decoderConfig.js";
import { auxFeeds, causalPositions, perRowAuxFeeds, perRowFeeds } from "./auxInputs.js";
import { crossEntropy } from "./crossEntropy.js";
import { buildDecoder, type DecoderGraph } from "./llama.js";
import { loadWeights } from "./loadParams.js";

/** The logits and each layer's new keys and values: what a prefill or a cached step returns. */
function withCacheOutputs(dec: DecoderGraph): Record<string, Value> {
  const outs: Record<string, Value> = { logits: dec.logits };
  dec.newKeys.forEach((k, l) => (outs[`key_${l}`] = k));
  dec.newValues.forEach((v, l) => (outs[`value_${l}`] = v));
  return outs;
}

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

  /**
   * Per-token NLL as `nll` gives, for rows that carry their own position ids and segment ids
   * (float32 [B·T]): packed rows, or one context followed by several continuations that each see it
   * (SHARED_SEGMENT in nn/rope.ts).
   */
  async nllPerRow(
    tokens: number[][],
    targets: number[][],
    positions: number[][],
    segments: number[][],
  ): Promise<Float32Array> {
    const B = tokens.length;
    const T = tokens[0]!.length;
    const graph = await this.cache.get(`nll-rows:${B}x${T}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, B, T, { perRow: true });
      return toOnnx(g, { nll: crossEntropy(g, dec.logits, B, T).nll });
    });
    const out = await graph.run({
      ...perRowAuxFeeds(this.decoder, positions, segments, (n) => graph.takes(n)),
      ...graph.taken(this.params),
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
   * Starts incremental decoding of `rows` sequences side by side with room for `maxLength` tokens
   * each: `prefill` runs the prompts (all of one length, so every row has the same positions and
   * masks) and fills the KV cache; each `step` runs one token per row against the cache.
   */
  decoding(maxLength: number, rows = 1): DecodingSession {
    return new DecodingSession(this, maxLength, rows);
  }

  /** @internal */
  async runPrefill(prompts: number[][]) {
    const B = prompts.length;
    const T = prompts[0]!.length;
    const graph = await this.cache.get(`prefill:${B}x${T}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, B, T);
      return toOnnx(g, withCacheOutputs(dec));
    });
    return graph.run({ ...this.modelFeeds(graph, 0, T, causalPositions(T)), tokens: int64Rows(prompts) });
  }

  /** @internal */
  async runStep(tokens: number[], position: number, cacheLength: number, past: Record<string, HostTensor>) {
    const B = tokens.length;
    const graph = await this.cache.get(`step:${B}x${cacheLength}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, B, 1, { mode: { kind: "cached", cacheLength } });
      return toOnnx(g, withCacheOutputs(dec));
    });
    // Cache slot s holds position s while s < position; empty slots are masked; the new token comes last.
    const keyPos = [...Array(cacheLength).keys()].map((s) => (s < position ? s : -1));
    keyPos.push(position);
    return graph.run({
      ...this.modelFeeds(graph, position, 1, keyPos),
      ...past,
      tokens: int64Rows(tokens.map((t) => [t])),
    });
  }

  /** @internal Prefill of rows with per-row positions and segments (left-padded prompts). */
  async runPrefillPerRow(prompts: number[][], positions: number[][], segments: number[][]) {
    const B = prompts.length;
    const T = prompts[0]!.length;
    const graph = await this.cache.get(`prefill-rows:${B}x${T}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, B, T, { perRow: true });
      return toOnnx(g, withCacheOutputs(dec));
    });
    return graph.run({
      ...perRowAuxFeeds(this.decoder, positions, segments, (n) => graph.takes(n)),
      ...graph.taken(this.params),
      tokens: int64Rows(prompts),
    });
  }

  /** @internal One cached step of rows at their own positions; `keyPos[b]` gives each cache slot's
   * position in row b (−1: empty or padding), then the new token's. */
  async runStepPerRow(
    tokens: number[],
    positions: number[],
    keyPos: number[][],
    cacheLength: number,
    past: Record<string, HostTensor>,
  ) {
    const B = tokens.length;
    const graph = await this.cache.get(`step-rows:${B}x${cacheLength}`, () => {
      const g = new Graph();
      const dec = buildDecoder(g, this.decoder, this.shapes, B, 1, {
        mode: { kind: "cached", cacheLength },
        perRow: true,
      });
      return toOnnx(g, withCacheOutputs(dec));
    });
    return graph.run({
      ...perRowFeeds(
        this.decoder,
        positions.map((p) => [p]),
        keyPos,
        (n) => graph.takes(n),
      ),
      ...graph.taken(this.params),
      ...past,
      tokens: int64Rows(tokens.map((t) => [t])),
    });
  }

  async release(): Promise<void> {
    await this.cache.release();
  }
}

/** The segment of a left-padded prompt's padding: it sees only itself, and nothing sees it. */
const PAD_SEGMENT = -2;

/** The KV cache of `rows` sequences decoded side by side: per layer [rows, kv heads, maxLength, head_dim]. */
export class DecodingSession {
  private readonly past: Record<string, HostTensor> = {};
  private length = 0;
  /** Rows of different lengths (prefillRagged): each cache slot's position per row, −1 for padding. */
  private slotPositions?: number[][];
  /** Per row, the position its next token takes. */
  private nextPosition?: number[];

  constructor(
    private readonly model: DecoderModel,
    readonly maxLength: number,
    readonly rows = 1,
  ) {
    const { kvHeads, headDim, config } = model.decoder;
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const kind of ["key", "value"]) {
        this.past[`past_${kind}_${l}`] = {
          dtype: "float32",
          shape: [rows, kvHeads, maxLength, headDim],
          data: new Float32Array(rows * kvHeads * maxLength * headDim),
        };
      }
    }
  }

  get position(): number {
    return this.length;
  }

  /** Copies keys/values [rows, nkv, n, hd] for positions [at, at + n) into the cache. */
  private store(out: Record<string, HostTensor>, at: number, n: number) {
    const { kvHeads, headDim, config } = this.model.decoder;
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const kind of ["key", "value"]) {
        const src = out[`${kind}_${l}`]!.data as Float32Array;
        const dst = this.past[`past_${kind}_${l}`]!.data as Float32Array;
        for (let h = 0; h < this.rows * kvHeads; h++) {
          dst.set(src.subarray(h * n * headDim, (h + 1) * n * headDim), (h * this.maxLength + at) * headDim);
        }
      }
    }
  }

  /** Runs the prompt; returns the logits [V] of its last position. */
  async prefill(prompt: number[]): Promise<Float32Array> {
    return (await this.prefillRows([prompt]))[0]!;
  }

  /** Runs one prompt per row (all of one length); returns each row's logits [V] at its last position. */
  async prefillRows(prompts: number[][]): Promise<Float32Array[]> {
    const T = prompts[0]?.length ?? 0;
    if (prompts.length !== this.rows || prompts.some((p) => p.length !== T))
      throw new UsageError(`prefill takes ${this.rows} prompts of one length`);
    if (T === 0 || T > this.maxLength) {
      throw new UsageError(`a prompt of ${T} tokens does not fit a cache of ${this.maxLength}`);
    }
    const out = await this.model.runPrefill(prompts);
    this.store(out, 0, T);
    this.length = T;
    this.slotPositions = this.nextPosition = undefined;
    const V = this.model.vocabSize;
    const logits = out.logits!.data as Float32Array;
    return prompts.map((_, b) => logits.slice((b * T + T - 1) * V, (b * T + T) * V));
  }

  /**
   * Runs prompts of different lengths, left-padded to `length` (default: the longest) so every row
   * ends at the same slot; each row keeps its own positions, and padding is masked out of
   * attention. Returns each row's logits [V] after its last token; `stepRows` then goes on per row.
   */
  async prefillRagged(prompts: number[][], length?: number): Promise<Float32Array[]> {
    const T = length ?? Math.max(...prompts.map((p) => p.length));
    if (prompts.length !== this.rows) throw new UsageError(`prefill takes ${this.rows} prompts`);
    if (prompts.some((p) => p.length === 0 || p.length > T) || T > this.maxLength)
      throw new UsageError(`prompts of 1 to ${T} tokens fit a cache of ${this.maxLength}`);
    const pads = prompts.map((p) => T - p.length);
    const tokens = prompts.map((p, b) => [...new Array<number>(pads[b]!).fill(p[0]!), ...p]);
    const positions = pads.map((n) => Array.from({ length: T }, (_, t) => Math.max(0, t - n)));
    const segments = pads.map((n) => Array.from({ length: T }, (_, t) => (t < n ? PAD_SEGMENT : 0)));
    const out = await this.model.runPrefillPerRow(tokens, positions, segments);
    this.store(out, 0, T);
    this.length = T;
    this.slotPositions = pads.map((n) => {
      const slots = new Array<number>(this.maxLength).fill(-1);
      for (let t = n; t < T; t++) slots[t] = t - n;
      return slots;
    });
    this.nextPosition = prompts.map((p) => p.length);
    const V = this.model.vocabSize;
    const logits = out.logits!.data as Float32Array;
    return prompts.map((_, b) => logits.slice((b * T + T - 1) * V, (b * T + T) * V));
  }

  /** Feeds one token at the next position; returns the logits [V] for the position after it. */
  async step(token: number): Promise<Float32Array> {
    return (await this.stepRows([token]))[0]!;
  }

  /** Feeds one token per row at the next position; returns each row's logits [V] after it. */
  async stepRows(tokens: number[]): Promise<Float32Array[]> {
    if (tokens.length !== this.rows) throw new UsageError(`a step takes ${this.rows} tokens, one per row`);
    if (this.length >= this.maxLength)
      throw new UsageError(`the KV cache is full at ${this.maxLength} tokens`);
    let out: Record<string, HostTensor>;
    if (this.slotPositions && this.nextPosition) {
      const slots = this.slotPositions;
      const next = this.nextPosition;
      const keyPos = slots.map((row, b) => [...row.map((p, s) => (s < this.length ? p : -1)), next[b]!]);
      out = await this.model.runStepPerRow(tokens, next, keyPos, this.maxLength, this.past);
      slots.forEach((row, b) => (row[this.length] = next[b]!));
      this.nextPosition = next.map((p) => p + 1);
    } else out = await this.model.runStep(tokens, this.length, this.maxLength, this.past);
    this.store(out, this.length, 1);
    this.length++;
    const V = this.model.vocabSize;
    const logits = out.logits!.data as Float32Array;
    return tokens.map((_, b) => logits.subarray(b * V, (b + 1) * V));
  }
}
