// A distribution of per-example scores in a few figures, for a table a person reads.

export interface Distribution {
  mean: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
}

/** The p-quantile of ascending `sorted`, interpolated linearly between order statistics (numpy's
 * and R's default, type 7), so that the median of an even count is the mean of the middle two. */
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Mean, extremes and quartiles of `values` (at least one). */
export function distribution(values: ArrayLike<number>): Distribution {
  if (values.length === 0) throw new RangeError("distribution: no values");
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    mean: sum / sorted.length,
    min: sorted[0]!,
    q1: quantile(sorted, 0.25),
    median: quantile(sorted, 0.5),
    q3: quantile(sorted, 0.75),
    max: sorted[sorted.length - 1]!,
  };
}
