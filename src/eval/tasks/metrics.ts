// Per-document scores and their aggregation, as lm-evaluation-harness defines them.
//   acc       argmax of the summed log-likelihood of the choices is the gold
//   acc_norm  argmax of log-likelihood ÷ the choice string's length in characters
//   mc2       the probability mass on the true choices, exp(ll) normalised over all choices
//   perplexities of rolling documents: exp(−Σll ÷ Σwords), exp(−Σll ÷ Σbytes), and bits per byte
// Means carry the standard error of the mean (sample standard deviation ÷ √n), the harness's
// mean_stderr; the perplexities are ratios of sums and carry none.

export interface MetricValue {
  value: number;
  stderr?: number;
}

const argmax = (xs: ArrayLike<number>) => {
  let k = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[k]!) k = i;
  return k;
};

/** acc, acc_norm and mc2 of one multiple-choice document. */
export function choiceScores(
  ll: readonly number[],
  choices: readonly string[],
  gold: readonly number[],
): { acc: number; acc_norm: number; mc2: number; prediction: number } {
  const prediction = argmax(ll);
  // Python's len: code points, not UTF-16 units.
  const normed = ll.map((l, i) => l / Math.max(1, [...choices[i]!].length));
  const max = Math.max(...ll);
  const p = ll.map((l) => Math.exp(l - max));
  const total = p.reduce((a, b) => a + b, 0);
  const trueMass = gold.reduce((a, i) => a + p[i]!, 0);
  return {
    acc: gold.includes(prediction) ? 1 : 0,
    acc_norm: gold.includes(argmax(normed)) ? 1 : 0,
    mc2: trueMass / total,
    prediction,
  };
}

/** The mean of per-document values and its standard error. */
export function meanWithStderr(xs: readonly number[]): MetricValue {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: mean };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { value: mean, stderr: Math.sqrt(variance / n) };
}

/** Word and byte perplexity and bits per byte of documents from their summed log-likelihoods. */
export function rollingScores(docs: readonly { ll: number; text: string }[]): Record<string, MetricValue> {
  let ll = 0;
  let words = 0;
  let bytes = 0;
  for (const d of docs) {
    ll += d.ll;
    // Python's re.split(r"\s+", doc): leading whitespace gives an empty first piece, which counts.
    words += d.text.split(/\s+/).length;
    bytes += Buffer.byteLength(d.text, "utf8");
  }
  return {
    word_perplexity: { value: Math.exp(-ll / words) },
    byte_perplexity: { value: Math.exp(-ll / bytes) },
    bits_per_byte: { value: -ll / bytes / Math.LN2 },
  };
}
