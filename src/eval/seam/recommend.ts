// From measured distances to a cut: among the two-slice plans of the requested depth, the one whose
// seam joins the most similar hidden states. Pure arithmetic on the measures; no engine.
import { articleFor } from "../../formatCount.js";
import { UsageError } from "../../errors.js";
import type { Estimate, SeamMeasures } from "./measures.js";
import type { Contrast } from "./seamSums.js";

/**
 * A two-slice plan of an n-layer base: copy A keeps layers [0, a), copy B keeps [b, n), stacked A
 * then B: a + n − b layers. Layer a − 1 feeds layer b at the seam, so the seam compares boundary a
 * (what A outputs) with boundary b (what B's first layer expects). DUS with drop m is a = n − m, b = m.
 */
export interface TwoSlicePlan {
  a: number;
  b: number;
  size: number;
  distance: Estimate;
  /** a + b = n: the DUS plan with drop m = b. */
  symmetric: boolean;
  /** The DUS drop, where the plan is symmetric. */
  m?: number;
  /**
   * This plan's seam distance minus the symmetric plan's of the same size, per token (paired, so its
   * standard error is that of the difference); where the sums were asked for it (planContrasts).
   */
  versusSymmetric?: Estimate;
}

/** The depths two non-empty slices of an n-layer base reach without shrinking it: n … 2n (2 for n = 1). */
export function reachableSizes(n: number): { min: number; max: number } {
  return { min: n >= 2 ? n : 2, max: 2 * n };
}

/**
 * The default output depth: the paper's 1.5× as deepen's default DUS realises it, 2(n − ⌊n/4⌋)
 * (32 → 48 for Mistral 7B; 8 → 12): always even, so the symmetric DUS plan is among the candidates.
 */
export function defaultSize(n: number): number {
  return 2 * (n - Math.floor(n / 4));
}

/** Refuses a depth no two-slice plan of an n-layer base reaches, or one below the base's. */
export function checkSize(n: number, size: number): void {
  const { min, max } = reachableSizes(n);
  const base = `${articleFor(n)} ${n}-layer base`;
  if (!Number.isInteger(size)) throw new UsageError(`--size ${size}: expected a whole number of layers`);
  if (size < n)
    throw new UsageError(
      `--size ${size}: below the base's depth; two slices of ${base} grow it to ${min} to ${max} layers`,
    );
  if (size < min || size > max)
    throw new UsageError(
      `--size ${size}: no two-slice plan of ${base} has ${size} layers; reachable sizes are ${min} to ${max}`,
    );
}

function plan(measures: SeamMeasures, a: number, b: number): TwoSlicePlan {
  const n = measures.layers;
  const symmetric = a + b === n;
  const c = measures.contrasts.find(
    (c) => c.pair[0] === a && c.pair[1] === b && c.minus[0] + c.minus[1] === n,
  );
  return {
    a,
    b,
    size: a + n - b,
    distance: measures.distance[a]![b]!,
    symmetric,
    ...(symmetric && { m: b }),
    ...(c && { versusSymmetric: c.difference }),
  };
}

/** The (a, b) of every two-slice plan of depth `size`, a ascending. */
export function cutsOfSize(n: number, size: number): [number, number][] {
  checkSize(n, size);
  const k = size - n;
  const cuts: [number, number][] = [];
  for (let a = Math.max(1, k); a <= Math.min(n, n - 1 + k); a++) cuts.push([a, a - k]);
  return cuts;
}

/** Contrasts for the sums: every plan of depth `size` against the symmetric one, where the size has one. */
export function planContrasts(n: number, size: number): Contrast[] {
  if (size % 2 !== 0) return [];
  const sym: [number, number] = [size / 2, n - size / 2];
  return cutsOfSize(n, size)
    .filter(([a]) => a !== sym[0])
    .map((pair) => ({ pair, minus: sym }));
}

/** Every two-slice plan of depth `size` (1 ≤ a ≤ n, 0 ≤ b < n, a − b = size − n), best first. */
export function plansOfSize(measures: SeamMeasures, size: number): TwoSlicePlan[] {
  const plans = cutsOfSize(measures.layers, size).map(([a, b]) => plan(measures, a, b));
  return plans.sort(
    (p, q) => p.distance.mean - q.distance.mean || Number(q.symmetric) - Number(p.symmetric) || p.a - q.a,
  );
}

/** The plan of depth `size` with the smallest mean seam distance (ties: the symmetric DUS plan, then the smaller a). */
export function recommend(measures: SeamMeasures, size: number): TwoSlicePlan {
  return plansOfSize(measures, size)[0]!;
}
