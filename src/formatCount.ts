// Beside errors, random and version: a leaf every layer may use, from the model cards that
// checkpoint writers receive up to the commands that print.

/** A count for people: 1.23B, 45.60M, 7.5K, or the number itself below a thousand. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
