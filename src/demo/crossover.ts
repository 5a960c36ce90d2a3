// Where a grown model passes its control: the paper's claim, read off the evaluations.

/** One held-out evaluation of a run. */
export interface EvalPoint {
  step: number;
  tokens: number;
  loss: number;
  perplexity: number;
}

/**
 * The first evaluation after step 0 at which `grown`'s held-out loss is at or below `control`'s at
 * the same step (both evaluated on the same held-out sequences after the same batches), or
 * undefined when it never is. Steps present in only one of the two are ignored.
 */
export function crossover(control: readonly EvalPoint[], grown: readonly EvalPoint[]): EvalPoint | undefined {
  const controlAt = new Map(control.map((e) => [e.step, e.loss]));
  return grown.find((e) => {
    const c = controlAt.get(e.step);
    return e.step > 0 && c !== undefined && e.loss <= c;
  });
}

/** Whether `grown` stays at or below `control` at every evaluation from `step` on. */
export function staysAhead(
  control: readonly EvalPoint[],
  grown: readonly EvalPoint[],
  step: number,
): boolean {
  const controlAt = new Map(control.map((e) => [e.step, e.loss]));
  return grown.every((e) => e.step < step || !controlAt.has(e.step) || e.loss <= controlAt.get(e.step)!);
}

/** Mean and sample standard deviation (0 for a single value). */
export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

/** The runs' evaluations averaged over seeds, step by step (loss averaged; perplexity = e^loss). */
export function meanCurve(seeds: readonly (readonly EvalPoint[])[]): EvalPoint[] {
  const first = seeds[0] ?? [];
  return first.map((e, i) => {
    const loss = meanSd(seeds.map((s) => s[i]?.loss ?? NaN)).mean;
    return { step: e.step, tokens: e.tokens, loss, perplexity: Math.exp(loss) };
  });
}
