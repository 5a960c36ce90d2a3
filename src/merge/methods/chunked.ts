// Running a chunked merge (method.ts's ChunkedMerge) over tensors already in memory, and the random
// sources it draws from. A whole-tensor merge is the chunked merge run as one chunk, so the streamed
// merge (many chunks, read from disk) and the whole-tensor one run the same code.
import { mulberry32 } from "../../random.js";
import type { ChunkedInput, ChunkedMerge, MergeInput, RandomSource } from "./method.js";

/**
 * A RandomSource over a plain generator, which can only be read in order: at(k) must ask for the
 * next unread draw. That is how a single-chunk run draws (model by model, front to back).
 */
export function sequentialRandom(random: () => number): RandomSource {
  let drawn = 0;
  const counted = () => {
    drawn++;
    return random();
  };
  return {
    at(offset) {
      if (offset !== drawn)
        throw new Error(`internal: draws must be read in order (asked for draw ${offset}, next is ${drawn})`);
      return counted;
    },
  };
}

/**
 * The random source of mulberry32(seed) (src/random.ts), entered anywhere: mulberry32's state after k
 * draws is seed + k·0x6d2b79f5 (mod 2³²), so draw k onward is mulberry32 started from that state.
 */
export function seekableMulberry32(seed: number): RandomSource {
  const s = seed >>> 0;
  return { at: (offset) => mulberry32((s + Math.imul(offset, 0x6d2b79f5)) >>> 0) };
}

/** The chunked view of a whole-tensor input (its random generator read in order). */
export function chunkedInputOf(input: MergeInput): ChunkedInput {
  return {
    length: input.tensors[0]?.length ?? 0,
    inputs: input.tensors.length,
    baseIndex: input.baseIndex,
    modelParams: input.modelParams,
    params: input.params,
    shape: input.shape,
    random: sequentialRandom(input.random),
  };
}

/** Elements per chunk: `chunk` rounded down to a multiple of `align` (at least one `align`). */
export function alignedChunk(chunk: number, align: number, length: number): number {
  const a = Math.max(1, align);
  return Math.min(Math.max(length, 1), Math.max(a, Math.floor(chunk / a) * a));
}

/** Runs `plan` over in-memory tensors in chunks of about `chunk` elements (default: one chunk). */
export function runChunked(plan: ChunkedMerge, tensors: Float32Array[], chunk = Infinity): Float32Array {
  const n = tensors[0]!.length;
  const step = alignedChunk(chunk, plan.align, n);
  const views = (s: number) => tensors.map((t) => t.subarray(s, Math.min(n, s + step)));
  for (let pass = plan.nextPass(); pass; pass = plan.nextPass()) {
    for (let s = 0; s < n; s += step) pass(s, views(s));
  }
  const out = new Float32Array(n);
  for (let s = 0; s < n; s += step) plan.output(s, views(s), out.subarray(s, Math.min(n, s + step)));
  return out;
}
