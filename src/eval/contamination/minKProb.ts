// Min-K% Prob (Shi et al., "Detecting Pretraining Data from Large Language Models", arXiv
// 2310.16789): the mean log-probability of a text's k % least likely tokens. A text seen in training
// tends to have fewer very surprising tokens than an unseen one of the same kind, so its lowest
// token probabilities sit higher; the mean of those is the score (higher = more likely seen).

/**
 * How many of `n` token log-probabilities Min-K% averages: floor(k/100 · n), as the paper's code
 * does (`int(len(all_prob) * ratio)`), but at least 1, where the paper's code averages an empty
 * slice into NaN for texts shorter than 100/k tokens. Computed as floor(k · n / 100): k · n is
 * exact for whole k, where k/100 · n is not (0.29 · 100 = 28.999…).
 */
export function minKCount(n: number, k: number): number {
  return Math.min(n, Math.max(1, Math.floor((k * n) / 100)));
}

/**
 * Min-K% Prob of one text: the mean of the lowest minKCount(n, k) of its token log-probabilities
 * (natural log, each token given the ones before it; the first token, which nothing predicts, is
 * not among them). k in (0, 100]: k = 100 is the mean log-probability of every token.
 */
export function minKProb(logprobs: ArrayLike<number>, k: number): number {
  const n = logprobs.length;
  if (n === 0) throw new RangeError("minKProb: no token log-probabilities");
  if (!(k > 0 && k <= 100)) throw new RangeError(`minKProb: k ${k} is not in (0, 100]`);
  const sorted = Float64Array.from(logprobs).sort();
  const m = minKCount(n, k);
  let sum = 0;
  for (let i = 0; i < m; i++) sum += sorted[i]!;
  return sum / m;
}
