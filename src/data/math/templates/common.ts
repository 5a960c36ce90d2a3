import type { Draw } from "../draw.js";

// Percentages that read naturally in everyday problems.
export const PERCENTS = [5, 10, 15, 20, 25, 30, 40, 50, 60, 75] as const;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** A base in [lo, hi] of which `percent`% is a whole number (a multiple of 100 / gcd(percent, 100)). */
export function wholePercentBase(d: Draw, percent: number, lo: number, hi: number): number {
  return d.multiple(100 / gcd(percent, 100), lo, hi);
}
