import { hashString, mulberry32 } from "../../random.js";

/** Seeded draws for the generator: integers, choices and shuffles from one mulberry32 stream. */
export class Draw {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** A stream named by `parts`, independent of how much any other stream has drawn. */
  static named(...parts: (string | number)[]): Draw {
    return new Draw(hashString(parts.join(":")));
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A multiple of `step` in [lo, hi] (lo and hi rounded inwards to multiples). */
  multiple(step: number, lo: number, hi: number): number {
    return step * this.int(Math.ceil(lo / step), Math.floor(hi / step));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A new array with the items in a random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}
