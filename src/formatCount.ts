// Beside errors, random and version: a leaf every layer may use, from the model cards that
// checkpoint writers receive up to the commands that print.

/** A count for people: 1.23B, 45.60M, 7.5K, or the number itself below a thousand. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** "1 file", "2 files": a count and its noun, singular for exactly one. */
export function countOf(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}

/** "a" or "an" before a number said aloud: an 8-layer, an 11-layer, an 18-, 80-, 800-layer; a 12-layer. */
export function articleFor(n: number): "a" | "an" {
  const s = String(n);
  return /^8/.test(s) || /^1[18]$/.test(s) || /^1[18]\d{3}$/.test(s) || /^1[18]\d{6}$/.test(s) ? "an" : "a";
}
