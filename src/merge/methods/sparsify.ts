// Sparsification of task vectors (delta = model − base), the first stage of the task-arithmetic
// family. Semantics from mergekit/sparsify.py:
//
//   magnitude (TIES)     keep the k = ⌊density·n⌋ elements of largest |delta|.
//   random (DARE)        keep each element independently with probability density.
//   magnitude_outliers   (Model Breadcrumbs) drop the n_top = ⌊gamma·n⌋ largest |delta|, then as many
//                        of the smallest as needed to keep ⌊density·n⌋; if gamma + density > 1 the
//                        number of large ones dropped shrinks to n − ⌊density·n⌋ (density wins).
//   della_magprune       (DELLA) rank |delta| within each vector (ascending, rank r ∈ 0…L−1) and keep
//                        each element with probability p = density − ε + 2ε·r/(L − 1).
//                        Vectors: a 1-D tensor is one vector; an N-D tensor is ranked along axis 1
//                        (torch argsort(dim=1): the rows of a matrix).
//
// Every method returns the delta unchanged when density ≥ 1 (and draws no random numbers).
// rescale: multiply the kept elements by ‖delta‖₁ / ‖kept‖₁ so the L1 norm is preserved
// (mergekit's RescaleNorm.l1; skipped when either norm is below 1e-7). For DARE and DELLA this is
// mergekit's replacement for the papers' 1/p: E[kept·‖delta‖₁/‖kept‖₁] → delta as n grows.
// Both norms are float64 sums taken in element order.
//
// Ties in |delta| are broken by position, the later element ranking as the larger; mergekit leaves
// them to torch's sort. NaN magnitudes rank as +∞ (tied with any +∞ by position).
//
// Streaming. A tensor is sparsified chunk by chunk, in passes over its elements in order, so memory
// is bounded by the chunk size, not the tensor (see Sparsifier):
// - magnitude and magnitude_outliers need the values of one or two ranks of |delta|. A float32
//   magnitude's bit pattern orders like its value, so the rank-r value is found exactly in two
//   passes: a histogram of the high 16 bits (2¹⁵ buckets) gives the bucket holding rank r and the count
//   below it; a histogram of the low 16 bits within that bucket gives the value. An element is then
//   kept when its magnitude lies strictly inside the window's values; those equal to a boundary value
//   are counted in position order across chunks and kept while their rank falls in the window.
// - random and della_magprune draw one number per element in element order. The tensor's random
//   stream is entered at each model's offset (models draw in order, n each), so the draws are those a
//   whole-tensor pass takes. With rescale the keep decisions are stored as bits (n/8 bytes) in the
//   first pass, where the norms are summed, and applied in the output pass.
// DELLA ranks within vectors, so its chunks hold whole vectors (ChunkedMerge.align).

import { MergeMethodError, type RandomSource } from "./method.js";
import { type AxisLayout, axisLayout, forEachVector } from "./vectors.js";

export type Sparsification = "none" | "magnitude" | "random" | "magnitude_outliers" | "della_magprune";

export interface SparsifyOptions {
  method: Sparsification;
  density: number;
  /** magnitude_outliers: fraction of largest magnitudes removed. */
  gamma?: number;
  /** della_magprune: half-width of the keep-probability range. */
  epsilon?: number;
  rescale: boolean;
  shape: readonly number[];
  /** Names the method in error messages. */
  who?: string;
}

/** |x| as float32, NaN mapped to +∞ so that every magnitude is ordered. */
export function magnitudes(x: ArrayLike<number>): Float32Array {
  const m = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const v = x[j]!;
    m[j] = v !== v ? Infinity : Math.abs(v);
  }
  return m;
}

/** The bits of a float32 array (a view, not a copy). */
const bitsOf = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** The bit pattern of |x| for float32 bits u (NaN → +∞): ordered as the magnitudes are. */
const INF = 0x7f800000;
const magBits = (u: number) => {
  const a = u & 0x7fffffff;
  return a > INF ? INF : a;
};

/** Buckets of the first histogram: the high 16 bits of a magnitude's bits (at most 0x7f80). */
const HIGH = 1 << 15;

/** Histograms for a RankSelection kept outside it: HIGH counts, HIGH bucket indexes, 65536-count low histograms. */
export interface RankStorage {
  high: Uint32Array;
  lowIndex: Int16Array;
  low: Uint32Array[];
}

/** Buckets of a RankSelection's first histogram. */
export const RANK_BUCKETS = HIGH;

/** The value (as magnitude bits) of one ascending rank, and how many elements are strictly below it. */
export interface RankValue {
  bits: number;
  less: number;
}

/**
 * Exact values of ascending ranks among the magnitudes of a stream of float32 values (of length n,
 * known in advance), in two passes over it: countHigh over every chunk, then countLow over every chunk.
 */
export class RankSelection {
  private readonly high: Uint32Array;
  /** Per rank: its bucket (high 16 bits) and the number of elements in lower buckets. */
  private buckets: { bucket: number; below: number }[] = [];
  /** Per bucket: the index of its low-bits histogram in `low`, or −1. */
  private readonly lowIndex: Int16Array;
  private readonly low: Uint32Array[] = [];
  /** Low histograms to use before allocating any (a kernel's memory). */
  private readonly pool: Uint32Array[];

  /** `storage`: where the histograms live (zeroed here), when a kernel fills them instead of count*(). */
  constructor(
    private readonly ranks: readonly number[],
    storage?: RankStorage,
  ) {
    this.high = storage?.high.fill(0) ?? new Uint32Array(HIGH);
    this.lowIndex = (storage?.lowIndex ?? new Int16Array(HIGH)).fill(-1);
    this.pool = storage?.low ?? [];
  }

  /** First pass: histogram of the high bits of |x|. */
  countHigh(x: Float32Array): void {
    const bits = bitsOf(x);
    const h = this.high;
    for (let j = 0; j < bits.length; j++) h[magBits(bits[j]!) >>> 16]!++;
  }

  /** Between the passes: locates each rank's bucket. */
  endHigh(): void {
    this.buckets = this.ranks.map((r) => {
      let below = 0;
      for (let b = 0; b < HIGH; b++) {
        const c = this.high[b]!;
        if (r < below + c) return { bucket: b, below };
        below += c;
      }
      throw new Error(`internal: rank ${r} beyond the ${below} elements counted`);
    });
    for (const { bucket } of this.buckets) {
      if (this.lowIndex[bucket]! < 0) {
        this.lowIndex[bucket] = this.low.length;
        this.low.push(this.pool[this.low.length]?.fill(0) ?? new Uint32Array(1 << 16));
      }
    }
  }

  /** Second pass: histogram of the low bits of the magnitudes in the ranks' buckets. */
  countLow(x: Float32Array): void {
    const bits = bitsOf(x);
    const { lowIndex, low } = this;
    for (let j = 0; j < bits.length; j++) {
      const m = magBits(bits[j]!);
      const k = lowIndex[m >>> 16]!;
      if (k >= 0) low[k]![m & 0xffff]!++;
    }
  }

  /** After the second pass: each rank's value and the count strictly below it. */
  endLow(): RankValue[] {
    return this.ranks.map((r, i) => {
      const { bucket, below } = this.buckets[i]!;
      const low = this.low[this.lowIndex[bucket]!]!;
      let less = below;
      for (let l = 0; l < 1 << 16; l++) {
        const c = low[l]!;
        if (r < less + c) return { bits: (bucket << 16) | l, less };
        less += c;
      }
      throw new Error(`internal: rank ${r} not found in bucket ${bucket}`);
    });
  }
}

/**
 * The elements whose ascending rank by magnitude (ties: earlier position ranks lower) lies in
 * [lo, hi), decided chunk by chunk in element order from the values of ranks lo and hi − 1.
 */
export class RankWindow {
  private seenLo = 0;
  private seenHi = 0;
  private constructor(
    readonly lo: number,
    readonly hi: number,
    /** Constant decision for trivial windows: 0 (empty), 1 (everything), or undefined. */
    readonly all: 0 | 1 | undefined,
    /** Magnitude bits of ranks lo and hi − 1, and the counts strictly below them. */
    readonly vLo = 0,
    readonly lessLo = 0,
    readonly vHi = 0,
    readonly lessHi = 0,
  ) {}

  /** A window that needs no statistics (empty or everything), else undefined. */
  static trivial(lo: number, hi: number, n: number): RankWindow | undefined {
    lo = Math.max(0, lo);
    hi = Math.min(n, hi);
    if (lo >= hi) return new RankWindow(lo, hi, 0);
    if (lo === 0 && hi === n) return new RankWindow(lo, hi, 1);
    return undefined;
  }

  /** The ranks whose values a non-trivial window needs: lo and hi − 1. */
  static ranks(lo: number, hi: number): number[] {
    return [lo, hi - 1];
  }

  static of(lo: number, hi: number, values: RankValue[]): RankWindow {
    const [l, h] = values as [RankValue, RankValue];
    return new RankWindow(lo, hi, undefined, l.bits, l.less, h.bits, h.less);
  }

  /** Starts a new pass over the elements (the tie counters restart). */
  restart(): void {
    this.seenLo = 0;
    this.seenHi = 0;
  }

  /** mask[j] = 1 for the chunk's elements in the window, else 0 (chunks in element order). */
  mask(x: Float32Array, mask: Uint8Array): void {
    const n = x.length;
    if (this.all !== undefined) {
      mask.fill(this.all, 0, n);
      return;
    }
    const bits = bitsOf(x);
    const { vLo, vHi, lo, hi } = this;
    for (let j = 0; j < n; j++) {
      const m = magBits(bits[j]!);
      mask[j] = +(m > vLo) & +(m < vHi);
      if (m === vLo || m === vHi) {
        const rank = m === vLo ? this.lessLo + this.seenLo++ : this.lessHi + this.seenHi++;
        if (rank >= lo && rank < hi) mask[j] = 1;
      }
    }
  }
}

/**
 * 1 for the elements whose ascending rank by magnitude (ties: earlier position ranks lower) lies in
 * [lo, hi), 0 elsewhere. O(n): two histogram passes and one mask pass, no sort.
 */
export function rankWindowMask(mags: Float32Array, lo: number, hi: number): Uint8Array {
  const n = mags.length;
  const mask = new Uint8Array(n);
  let w = RankWindow.trivial(lo, hi, n);
  if (!w) {
    const sel = new RankSelection(RankWindow.ranks(lo, hi));
    sel.countHigh(mags);
    sel.endHigh();
    sel.countLow(mags);
    w = RankWindow.of(lo, hi, sel.endLow());
  }
  w.mask(mags, mask);
  return mask;
}

/** TIES's rank window: the k = ⌊density·n⌋ largest. */
function magnitudeWindow(n: number, density: number): [number, number] {
  // mergekit asserts k > 0 ("not gonna zero out the whole tensor"), so a small tensor with a low density
  // (a 1-element norm at density 0.5) aborts the merge there. Keeping ⌊density·n⌋ = 0 elements is the
  // literal definition: the task vector drops out of this tensor and the base value stays.
  const k = Math.floor(density * n);
  return [n - k, n];
}

/** Model Breadcrumbs' rank window: without the ⌊gamma·n⌋ largest, ⌊density·n⌋ kept. */
function outlierWindow(n: number, density: number, gamma: number): [number, number] {
  const target = Math.floor(density * n);
  let nTop = Math.floor(gamma * n);
  let nBot = n - target - nTop;
  if (nBot < 0) {
    nTop += nBot;
    nBot = 0;
  }
  // mergekit keeps sorted[n_bot:-n_top]; with n_top = 0 (gamma 0, or gamma·n < 1 as for any tensor of
  // fewer than 1/gamma elements, e.g. a 64-element norm at the default gamma 0.01) that slice is
  // sorted[n_bot:0], which is empty, and the whole delta is removed. The window meant is
  // [n_bot, n − n_top): with no outliers to drop, breadcrumbs keeps the ⌊density·n⌋ largest, like TIES.
  return [nBot, n - nTop];
}

/** TIES: keep the ⌊density·n⌋ largest magnitudes. */
export function magnitudeMask(delta: ArrayLike<number>, density: number): Uint8Array {
  const [lo, hi] = magnitudeWindow(delta.length, density);
  return rankWindowMask(magnitudes(delta), lo, hi);
}

/** Model Breadcrumbs: drop the ⌊gamma·n⌋ largest, then the smallest, keeping ⌊density·n⌋. */
export function outlierMask(delta: ArrayLike<number>, density: number, gamma: number): Uint8Array {
  const [lo, hi] = outlierWindow(delta.length, density, gamma);
  return rankWindowMask(magnitudes(delta), lo, hi);
}

/** The rank window of a magnitude-ranked sparsification (density < 1), else undefined. */
export function rankWindowOf(o: SparsifyOptions, n: number): [lo: number, hi: number] | undefined {
  if (o.density >= 1) return undefined;
  if (o.method === "magnitude") return magnitudeWindow(n, o.density);
  if (o.method === "magnitude_outliers") return outlierWindow(n, o.density, o.gamma ?? 0.01);
  return undefined;
}

/** The layout DELLA ranks along: axis 1 of an N-D tensor (N ≥ 2), the whole of a 1-D one. */
export function dellaLayout(shape: readonly number[]): AxisLayout {
  return axisLayout(shape, shape.length >= 2 ? 1 : 0);
}

/**
 * Each element's ascending rank (0…L−1) by magnitude within its vector; ties: earlier position ranks
 * lower. Vectors up to `packLimit` long sort packed numeric keys; longer ones use a comparator sort.
 */
export function ranksAlong(mags: Float32Array, layout: AxisLayout, packLimit = 1 << 22): Uint32Array {
  const ranks = new Uint32Array(mags.length);
  const len = layout.length;
  if (len <= Math.min(packLimit, 1 << 22)) {
    // Sort keys (bits of |x|) · 2²² + position: a float32 magnitude's bit pattern orders like its value,
    // and bits < 2³¹, so each key is an exact integer below 2⁵³ and a native Float64Array sort suffices.
    const bits = bitsOf(mags);
    const keys = new Float64Array(len);
    forEachVector(layout, (start, stride) => {
      for (let k = 0; k < len; k++) keys[k] = bits[start + k * stride]! * 4194304 + k;
      keys.sort();
      for (let r = 0; r < len; r++) ranks[start + (keys[r]! % 4194304) * stride] = r;
    });
  } else {
    const idx = new Uint32Array(len);
    forEachVector(layout, (start, stride) => {
      for (let k = 0; k < len; k++) idx[k] = k;
      const at = (k: number) => mags[start + k * stride]!;
      const sorted = Array.from(idx).sort((p, q) => at(p) - at(q) || p - q);
      sorted.forEach((k, r) => (ranks[start + k * stride] = r));
    });
  }
  return ranks;
}

/** DELLA keep probabilities for whole vectors of `layout`: density − ε + 2ε·r/(L − 1) for rank r of L. */
function dellaProbabilitiesAlong(
  delta: ArrayLike<number>,
  layout: AxisLayout,
  density: number,
  epsilon: number,
): Float64Array {
  const ranks = ranksAlong(magnitudes(delta), layout);
  const p = new Float64Array(delta.length);
  const span = layout.length - 1;
  for (let j = 0; j < p.length; j++) {
    // A vector of one element has no rank spread: mergekit computes 0/0 = NaN there and torch's
    // bernoulli rejects it; the element's probability is density itself (the midpoint).
    const rankNorm = span > 0 ? ranks[j]! / span : 0.5;
    p[j] = density - epsilon + rankNorm * 2 * epsilon;
  }
  return p;
}

/** DELLA keep probabilities: density − ε + 2ε·r/(L − 1) for rank r of L in the element's vector. */
export function dellaProbabilities(
  delta: ArrayLike<number>,
  shape: readonly number[],
  density: number,
  epsilon: number,
): Float64Array {
  return dellaProbabilitiesAlong(delta, dellaLayout(shape), density, epsilon);
}

/** One statistics pass of a sparsifier over its model's delta, chunk by chunk in element order. */
export type DeltaPass = (start: number, delta: Float32Array) => void;

/**
 * The sparsification of one model's task vector, streamed: zero or more statistics passes over the
 * delta (each chunk of each pass in element order), then `apply` on every chunk of the output pass.
 */
export interface Sparsifier {
  /** Numbers this sparsifier draws from the tensor's random stream (n or 0). */
  readonly draws: number;
  /** The next statistics pass, or undefined when none remains (asking again stays undefined). */
  nextPass(): DeltaPass | undefined;
  /** Sparsifies (and rescales) an output chunk of the delta in place. */
  apply(start: number, delta: Float32Array): void;
}

/** Sums ‖delta‖₁ and ‖kept‖₁ in element order; the rescale factor, or undefined when it does not apply. */
class L1Norms {
  before = 0;
  after = 0;
  add(delta: Float32Array, mask: Uint8Array): void {
    for (let j = 0; j < delta.length; j++) {
      const d = delta[j]!;
      this.before += Math.abs(d);
      this.after += Math.abs(Math.fround(d * mask[j]!));
    }
  }
  factor(): number | undefined {
    return this.before < 1e-7 || this.after < 1e-7 ? undefined : this.before / this.after;
  }
}

/** delta ← delta·mask (float32), then ·factor when there is one. */
function applyMask(delta: Float32Array, mask: Uint8Array, factor: number | undefined): void {
  const n = delta.length;
  for (let j = 0; j < n; j++) delta[j] = delta[j]! * mask[j]!;
  if (factor !== undefined) for (let j = 0; j < n; j++) delta[j] = delta[j]! * factor;
}

/** A scratch mask of at least n bytes (grown as chunks require). */
class Scratch {
  private buf = new Uint8Array(0);
  get(n: number): Uint8Array {
    if (this.buf.length < n) this.buf = new Uint8Array(n);
    return this.buf.subarray(0, n);
  }
}

const identity: Sparsifier = { draws: 0, nextPass: () => undefined, apply: () => {} };

/** magnitude and magnitude_outliers: a rank window found by histogram passes. */
function windowSparsifier(n: number, lo: number, hi: number, rescale: boolean): Sparsifier {
  const trivial = RankWindow.trivial(lo, hi, n);
  const sel = trivial ? undefined : new RankSelection(RankWindow.ranks(lo, hi));
  let window = trivial;
  const norms = rescale ? new L1Norms() : undefined;
  const scratch = new Scratch();
  // The passes, in order; each is set up when the previous one has seen every chunk.
  const stages: (() => DeltaPass)[] = [];
  if (sel) {
    stages.push(() => (_s, d) => sel.countHigh(d));
    stages.push(() => {
      sel.endHigh();
      return (_s, d) => sel.countLow(d);
    });
  }
  if (norms)
    stages.push(() => {
      if (sel) window = RankWindow.of(lo, hi, sel.endLow());
      return (_s, d) => {
        const mask = scratch.get(d.length);
        window!.mask(d, mask);
        norms.add(d, mask);
      };
    });
  let stage = 0;
  let factor: number | undefined;
  let ready = false;
  const finish = () => {
    if (ready) return;
    ready = true;
    if (!window) window = RankWindow.of(lo, hi, sel!.endLow());
    if (norms) factor = norms.factor();
    window.restart();
  };
  return {
    draws: 0,
    nextPass() {
      if (stage < stages.length) {
        const pass = stages[stage++]!();
        window?.restart();
        return pass;
      }
      finish();
      return undefined;
    },
    apply(_start, delta) {
      finish();
      const mask = scratch.get(delta.length);
      window!.mask(delta, mask);
      applyMask(delta, mask, factor);
    },
  };
}

/**
 * random and della_magprune: one draw per element (from the tensor's stream at `offset`) against a
 * keep probability, `density` (DARE) or DELLA's rank-based one (whole vectors per chunk).
 */
function drawSparsifier(
  n: number,
  density: number,
  probabilities: ((delta: Float32Array) => Float64Array) | undefined,
  rescale: boolean,
  random: RandomSource,
  offset: number,
): Sparsifier {
  let draw: (() => number) | undefined;
  const scratch = new Scratch();
  /** Draws the keep decisions of a chunk (the chunks in order, once each). */
  const decide = (delta: Float32Array): Uint8Array => {
    draw ??= random.at(offset);
    const mask = scratch.get(delta.length);
    if (probabilities) {
      const p = probabilities(delta);
      for (let j = 0; j < mask.length; j++) mask[j] = draw() < p[j]! ? 1 : 0;
    } else for (let j = 0; j < mask.length; j++) mask[j] = draw() < density ? 1 : 0;
    return mask;
  };
  if (!rescale)
    return { draws: n, nextPass: () => undefined, apply: (_s, d) => applyMask(d, decide(d), undefined) };
  // With rescale the norms need every decision before the first output: keep them as bits.
  const kept = new Uint8Array(Math.ceil(n / 8));
  const norms = new L1Norms();
  let passes = 0;
  let factor: number | undefined;
  return {
    draws: n,
    nextPass() {
      if (passes++ > 0) {
        factor = norms.factor();
        return undefined;
      }
      return (start, d) => {
        const mask = decide(d);
        norms.add(d, mask);
        for (let j = 0; j < mask.length; j++) kept[(start + j) >>> 3]! |= mask[j]! << ((start + j) & 7);
      };
    },
    apply(start, d) {
      const mask = scratch.get(d.length);
      for (let j = 0; j < mask.length; j++) mask[j] = (kept[(start + j) >>> 3]! >>> ((start + j) & 7)) & 1;
      applyMask(d, mask, factor);
    },
  };
}

/**
 * The streamed sparsification of one model's task vector of n elements. Random methods draw from
 * `random` starting at draw `offset` of the tensor's stream.
 */
export function sparsifier(o: SparsifyOptions, n: number, random: RandomSource, offset: number): Sparsifier {
  if (o.method === "none" || o.density >= 1) return identity;
  switch (o.method) {
    case "magnitude":
      return windowSparsifier(n, ...magnitudeWindow(n, o.density), o.rescale);
    case "magnitude_outliers":
      return windowSparsifier(n, ...outlierWindow(n, o.density, o.gamma ?? 0.01), o.rescale);
    case "random":
      return drawSparsifier(n, o.density, undefined, o.rescale, random, offset);
    case "della_magprune": {
      const eps = o.epsilon ?? 0.15;
      // mergekit demands density − ε > 0 and density + ε < 1. The end points are valid probabilities
      // (0: the smallest magnitude of each row is always dropped; 1: the largest always kept), so only
      // probabilities outside [0, 1] are refused here.
      if (o.density - eps < 0 || o.density + eps > 1)
        throw new MergeMethodError(
          `${o.who ?? "della"}: parameter epsilon (${eps}) must keep density ± epsilon (density ${o.density}) within [0, 1]`,
        );
      const layout = dellaLayout(o.shape);
      const block = layout.length * layout.inner;
      const density = o.density;
      const p = (d: Float32Array) =>
        dellaProbabilitiesAlong(d, { ...layout, outer: d.length / block }, density, eps);
      return drawSparsifier(n, density, p, o.rescale, random, offset);
    }
  }
}

/** The chunk alignment a sparsification needs: whole DELLA vectors, else any element. */
export function sparsifyAlign(o: SparsifyOptions): number {
  if (o.method !== "della_magprune" || o.density >= 1) return 1;
  const layout = dellaLayout(o.shape);
  return layout.length * layout.inner;
}
