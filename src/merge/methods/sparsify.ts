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
//
// Ties in |delta| are broken by position, the later element ranking as the larger; mergekit leaves
// them to torch's sort. NaN magnitudes rank as +∞.

import { MergeMethodError } from "./method.js";
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
  random: () => number;
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

/**
 * The value v of rank k (0-based, ascending) in `a` and how many elements are strictly below it.
 * Reorders `a` so that a[j] ≤ v for j < k and a[j] ≥ v for j > k. Quickselect with median-of-three
 * pivots and three-way partitions (equal magnitudes, zeros especially, are common in task vectors).
 * Invariant: every element left of the window [lo, hi] is strictly below every element inside it.
 */
function selectKth(a: Float32Array, k: number): [value: number, less: number] {
  let lo = 0;
  let hi = a.length - 1;
  let seed = 0x2545f491;
  for (;;) {
    if (hi - lo < 32) {
      a.subarray(lo, hi + 1).sort();
      const v = a[k]!;
      let first = k;
      while (first > lo && a[first - 1] === v) first--;
      return [v, first];
    }
    const span = hi - lo + 1;
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const x = a[lo + (seed % span)]!;
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const y = a[lo + (seed % span)]!;
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const z = a[lo + (seed % span)]!;
    const p = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = a[i]!;
      if (v < p) {
        a[i] = a[lt]!;
        a[lt] = v;
        lt++;
        i++;
      } else if (v > p) {
        a[i] = a[gt]!;
        a[gt] = v;
        gt--;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return [p, lt];
  }
}

/**
 * The value v of rank k in `mags` and how many elements are strictly below it; `mags` is not modified.
 * Large arrays: a sorted sample brackets v between two sample values, one pass counts the elements
 * below the bracket and collects those inside it (a few percent), and the selection runs on those
 * alone. The answer is exact whatever the sample; an unlucky bracket falls back to a full quickselect.
 */
function rankValue(mags: Float32Array, k: number): [value: number, less: number] {
  const n = mags.length;
  const s = 1 << 14;
  if (n < 16 * s) return selectKth(Float32Array.from(mags), k);
  const sample = new Float32Array(s);
  let seed = 0x9e3779b9;
  for (let i = 0; i < s; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    sample[i] = mags[Math.floor((seed / 4294967296) * n)]!;
  }
  sample.sort();
  // The rank of v in the sample is about k·s/n, with a standard deviation of at most √s/2 = 64;
  // a margin of 384 is six of those.
  const margin = 384;
  const r = (k / n) * s;
  const iLow = Math.floor(r) - margin;
  const iHigh = Math.ceil(r) + margin;
  const low = iLow < 0 ? -Infinity : sample[iLow]!;
  const high = iHigh >= s ? Infinity : sample[iHigh]!;
  // One pass: count the elements below `low`, equal to `low`, equal to `high`, and collect those
  // strictly between (equal values are counted, not stored: a tensor of many zeros stays cheap).
  const cap = Math.ceil((n * (2 * margin + 2)) / s) * 2;
  const inner = new Float32Array(cap);
  let less = 0;
  let atLow = 0;
  let atHigh = 0;
  let c = 0;
  for (let j = 0; j < n; j++) {
    const m = mags[j]!;
    if (m < low) less++;
    else if (m === low) atLow++;
    else if (m < high) {
      if (c < cap) inner[c] = m;
      c++;
    } else if (m === high) atHigh++;
  }
  let q = k - less;
  if (c > cap || q < 0) return selectKth(Float32Array.from(mags), k);
  if (q < atLow) return [low, less];
  q -= atLow;
  if (q < c) {
    const [v, below] = selectKth(inner.subarray(0, c), q);
    return [v, less + atLow + below];
  }
  if (q - c < atHigh) return [high, less + atLow + c];
  return selectKth(Float32Array.from(mags), k);
}

/**
 * 1 for the elements whose ascending rank by magnitude (ties: earlier position ranks lower) lies in
 * [lo, hi), 0 elsewhere. O(n): one or two rank selections and one pass, no full sort.
 */
export function rankWindowMask(mags: Float32Array, lo: number, hi: number): Uint8Array {
  const n = mags.length;
  const mask = new Uint8Array(n);
  lo = Math.max(0, lo);
  hi = Math.min(n, hi);
  if (lo >= hi) return mask;
  if (lo === 0 && hi === n) return mask.fill(1);
  // vLo, vHi: the values of ranks lo and hi − 1; lessLo, lessHi: how many elements are below each.
  let vLo: number, lessLo: number, vHi: number, lessHi: number;
  if (hi === n) {
    // The window reaches the top (TIES): one selection, and the maximum.
    vHi = -Infinity;
    let atMax = 0;
    for (let j = 0; j < n; j++) {
      const m = mags[j]!;
      if (m > vHi) {
        vHi = m;
        atMax = 1;
      } else if (m === vHi) atMax++;
    }
    lessHi = n - atMax;
    [vLo, lessLo] = rankValue(mags, lo);
  } else {
    [vLo, lessLo] = rankValue(mags, lo);
    [vHi, lessHi] = rankValue(mags, hi - 1);
  }
  // Elements strictly between vLo and vHi are in; of those equal to vLo (or vHi), the ones whose
  // rank, counted in position order from lessLo (lessHi), falls in the window.
  let seenLo = 0;
  let seenHi = 0;
  for (let j = 0; j < n; j++) {
    const m = mags[j]!;
    mask[j] = +(m > vLo) & +(m < vHi);
    if (m === vLo || m === vHi) {
      const rank = m === vLo ? lessLo + seenLo++ : lessHi + seenHi++;
      if (rank >= lo && rank < hi) mask[j] = 1;
    }
  }
  return mask;
}

/** TIES: keep the ⌊density·n⌋ largest magnitudes. */
export function magnitudeMask(delta: ArrayLike<number>, density: number): Uint8Array {
  const n = delta.length;
  // mergekit asserts k > 0 ("not gonna zero out the whole tensor"), so a small tensor with a low density
  // (a 1-element norm at density 0.5) aborts the merge there. Keeping ⌊density·n⌋ = 0 elements is the
  // literal definition: the task vector drops out of this tensor and the base value stays.
  const k = Math.floor(density * n);
  return rankWindowMask(magnitudes(delta), n - k, n);
}

/** Model Breadcrumbs: drop the ⌊gamma·n⌋ largest, then the smallest, keeping ⌊density·n⌋. */
export function outlierMask(delta: ArrayLike<number>, density: number, gamma: number): Uint8Array {
  const n = delta.length;
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
  return rankWindowMask(magnitudes(delta), nBot, n - nTop);
}

/** DARE: keep each element with probability density (one draw per element, in flat order). */
export function bernoulliMask(n: number, density: number, random: () => number): Uint8Array {
  const mask = new Uint8Array(n);
  for (let j = 0; j < n; j++) mask[j] = random() < density ? 1 : 0;
  return mask;
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
    const bits = new Uint32Array(mags.buffer, mags.byteOffset, mags.length);
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

/** DELLA keep probabilities: density − ε + 2ε·r/(L − 1) for rank r of L in the element's vector. */
export function dellaProbabilities(
  delta: ArrayLike<number>,
  shape: readonly number[],
  density: number,
  epsilon: number,
): Float64Array {
  const layout = dellaLayout(shape);
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

/** Zero the elements not in `mask`; with rescale, scale the rest to the original L1 norm. */
export function applyMask(delta: Float32Array, mask: Uint8Array, rescale: boolean): Float32Array {
  const n = delta.length;
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) out[j] = delta[j]! * mask[j]!;
  if (!rescale) return out;
  let before = 0;
  let after = 0;
  for (let j = 0; j < n; j++) {
    before += Math.abs(delta[j]!);
    after += Math.abs(out[j]!);
  }
  if (before < 1e-7 || after < 1e-7) return out;
  const f = before / after;
  for (let j = 0; j < n; j++) out[j] = out[j]! * f;
  return out;
}

/** The mask a sparsification method keeps (undefined: keep everything). */
export function sparsityMask(delta: Float32Array, o: SparsifyOptions): Uint8Array | undefined {
  if (o.method === "none" || o.density >= 1) return undefined;
  switch (o.method) {
    case "magnitude":
      return magnitudeMask(delta, o.density);
    case "magnitude_outliers":
      return outlierMask(delta, o.density, o.gamma ?? 0.01);
    case "random":
      return bernoulliMask(delta.length, o.density, o.random);
    case "della_magprune": {
      const eps = o.epsilon ?? 0.15;
      // mergekit demands density − ε > 0 and density + ε < 1. The end points are valid probabilities
      // (0: the smallest magnitude of each row is always dropped; 1: the largest always kept), so only
      // probabilities outside [0, 1] are refused here.
      if (o.density - eps < 0 || o.density + eps > 1)
        throw new MergeMethodError(
          `${o.who ?? "della"}: parameter epsilon (${eps}) must keep density ± epsilon (density ${o.density}) within [0, 1]`,
        );
      const p = dellaProbabilities(delta, o.shape, o.density, eps);
      const mask = new Uint8Array(delta.length);
      for (let j = 0; j < mask.length; j++) mask[j] = o.random() < p[j]! ? 1 : 0;
      return mask;
    }
  }
}

/** The sparsified delta (the input itself when nothing is removed). */
export function sparsify(delta: Float32Array, o: SparsifyOptions): Float32Array {
  const mask = sparsityMask(delta, o);
  return mask === undefined ? delta : applyMask(delta, mask, o.rescale);
}
