import { UsageError } from "../errors.js";
import type { DecoderModel } from "./decoderModel.js";
import { mulberry32 } from "../random.js";

export interface GenerateOptions {
  maxTokens: number;
  /** 0: greedy (argmax). */
  temperature?: number;
  /** Nucleus sampling: sample from the smallest set of tokens whose probability reaches top_p. */
  topP?: number;
  seed?: number;
  /** Generation stops after any of these tokens (the model's EOS). */
  stopIds?: readonly number[];
  /** Called with each new token as it is chosen. */
  onToken?: (id: number) => void;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Picks the next token from logits: argmax at temperature 0, else a temperature/top-p sample. */
export function sampleToken(
  logits: Float32Array,
  temperature: number,
  topP: number,
  random: () => number,
): number {
  if (temperature <= 0) return argmax(logits);
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  const probs = Float64Array.from(logits, (l) => Math.exp((l - max) / temperature));
  const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!);
  const sum = probs.reduce((a, b) => a + b, 0);
  let kept = 0;
  let mass = 0;
  while (kept < order.length && mass < topP * sum) mass += probs[order[kept++]!]!;
  let r = random() * mass;
  for (let i = 0; i < kept; i++) {
    r -= probs[order[i]!]!;
    if (r <= 0) return order[i]!;
  }
  return order[kept - 1]!;
}

/** Continues `prompt` with up to maxTokens tokens, using the KV cache; returns the new tokens. */
/** Checks sampling options before anything runs (the CLI calls it before printing the prompt). */
export function checkGenerateOptions(opts: GenerateOptions): void {
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) {
    throw new UsageError(`--max-tokens ${opts.maxTokens}: must be at least 1`);
  }
  if (!((opts.temperature ?? 0) >= 0))
    throw new UsageError(`--temperature ${opts.temperature}: must be >= 0`);
  const topP = opts.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new UsageError(`--top-p ${topP}: must be in (0, 1]`);
}

/** The cache length a generation of `prompt` needs; UsageError when the prompt leaves no room. */
export function checkPrompt(model: DecoderModel, prompt: readonly number[], maxTokens: number): number {
  if (prompt.length === 0) throw new UsageError("the prompt is empty after tokenization");
  const limit = model.decoder.config.max_position_embeddings ?? Infinity;
  const maxLength = Math.min(prompt.length + maxTokens, limit);
  if (prompt.length >= maxLength)
    throw new UsageError(`the prompt (${prompt.length} tokens) fills the model's context (${limit})`);
  return maxLength;
}

export async function generate(
  model: DecoderModel,
  prompt: number[],
  opts: GenerateOptions,
): Promise<number[]> {
  checkGenerateOptions(opts);
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 1;
  const maxLength = checkPrompt(model, prompt, opts.maxTokens);
  const random = mulberry32(opts.seed ?? 0);
  const session = model.decoding(maxLength);
  let logits = await session.prefill(prompt);
  const out: number[] = [];
  while (prompt.length + out.length < maxLength) {
    const next = sampleToken(logits, temperature, topP, random);
    out.push(next);
    opts.onToken?.(next);
    if (opts.stopIds?.includes(next) || prompt.length + out.length >= maxLength) break;
    logits = await session.step(next);
  }
  return out;
}

/** Batched prompts are left-padded to a multiple of this many tokens: one compiled graph per
 * multiple instead of one per prompt length. */
const PROMPT_BUCKET = 32;
const promptBucket = (n: number) => Math.ceil(n / PROMPT_BUCKET) * PROMPT_BUCKET;

/**
 * Greedy continuations of several prompts, decoded side by side (one batched step per token for all
 * rows, which costs little more than one row's). Prompts of one length share positions; prompts of
 * different lengths, or `padTo`/`rows` given, are left-padded to `padTo` with positions of their
 * own, and `rows` (at least the prompts) fixes the batch, so callers that bucket lengths compile few
 * graphs. Each row stops at its first stop id (kept in its output), when `stopped` says so, or
 * after `maxTokens`; the batch runs until every row has stopped.
 */
export async function greedyRows(
  model: DecoderModel,
  prompts: number[][],
  maxTokens: number,
  stopIds: readonly number[],
  /** Stops a row early when it returns true for the row's output so far (stop strings). */
  stopped?: (row: number, out: readonly number[]) => boolean,
  o: { padTo?: number; rows?: number } = {},
): Promise<number[][]> {
  const longest = Math.max(...prompts.map((p) => p.length));
  const rows = o.rows ?? prompts.length;
  const ragged =
    prompts.some((p) => p.length !== longest) || o.padTo !== undefined || rows !== prompts.length;
  const maxLength = checkPrompt(
    model,
    prompts.find((p) => p.length === longest)!,
    maxTokens,
  );
  const steps = maxLength - longest;
  const T = ragged ? Math.max(o.padTo ?? longest, longest) : longest;
  const session = model.decoding(T + steps, rows);
  // Filler rows repeat the last prompt and count as stopped from the start.
  const all = [...prompts, ...Array.from({ length: rows - prompts.length }, () => prompts.at(-1)!)];
  let logits = ragged ? await session.prefillRagged(all, T) : await session.prefillRows(all);
  const out = all.map(() => [] as number[]);
  const done = all.map((_, b) => b >= prompts.length);
  // Counted for the batch, not read off a row: a row that has stopped stops growing.
  for (let made = 1; ; made++) {
    const next = logits.map((l) => argmax(l));
    next.forEach((id, b) => {
      if (done[b]) return;
      out[b]!.push(id);
      if (stopIds.includes(id) || stopped?.(b, out[b]!)) done[b] = true;
    });
    if (done.every(Boolean) || made >= steps) break;
    logits = await session.stepRows(next);
  }
  return out.slice(0, prompts.length);
}

/**
 * Greedy continuations of many prompts, `batch` at a time in order of prompt length (so rows pad
 * little), each batch left-padded to a length bucket with a fixed row count, so few graph shapes
 * are compiled. `maxTokens` is capped per batch by the model's positions. Returns the outputs in
 * the prompts' order; `onProgress(done)` after each batch.
 */
export async function greedyBatches(
  model: DecoderModel,
  prompts: number[][],
  o: {
    maxTokens: number;
    stopIds: readonly number[];
    batch: number;
    stopped?: (out: readonly number[]) => boolean;
    onProgress?: (done: number) => void;
  },
): Promise<number[][]> {
  const limit = model.decoder.config.max_position_embeddings ?? Infinity;
  const order = [...prompts.keys()].sort((a, b) => prompts[a]!.length - prompts[b]!.length);
  const outs: number[][] = new Array<number[]>(prompts.length);
  for (let k = 0; k < order.length; k += o.batch) {
    const ids = order.slice(k, k + o.batch);
    const longest = prompts[ids.at(-1)!]!.length;
    const rows = await greedyRows(
      model,
      ids.map((i) => prompts[i]!),
      Math.min(o.maxTokens, limit - longest),
      o.stopIds,
      o.stopped && ((_, out) => o.stopped!(out)),
      { padTo: promptBucket(longest), rows: o.batch },
    );
    ids.forEach((i, b) => (outs[i] = rows[b]!));
    o.onProgress?.(Math.min(k + o.batch, order.length));
  }
  return outs;
}
