// DPO micro-batches: B pairs as 2B rows, the chosen sides first, padded to the shortest length
// bucket that holds the longest side (as unpacked SFT pads). Each epoch visits the pairs in a
// seeded shuffled order; the data position is (epoch, cursor).
import { shuffledOrder } from "../../data/packing.js";
import { lengthBuckets, paddedRows } from "../sft/sftBatcher.js";
import type { SftRows } from "../sft/sftLoss.js";
import type { EncodedPair } from "./dpoData.js";

export class DpoBatcher {
  private epoch = 0;
  private cursor = 0;
  private order: Uint32Array;
  private readonly buckets: number[];

  constructor(
    private readonly pairs: readonly EncodedPair[],
    private readonly seed: number,
    seqLen: number,
    private readonly batch: number,
    private readonly padId: number,
  ) {
    this.buckets = lengthBuckets(seqLen);
    this.order = shuffledOrder(pairs.length, seed, 0);
  }

  /** The next B pairs, as indices into the pairs (for the reference log-probabilities). */
  nextPairs(): number[] {
    const picked: number[] = [];
    while (picked.length < this.batch) {
      if (this.cursor >= this.order.length) {
        this.epoch++;
        this.cursor = 0;
        this.order = shuffledOrder(this.pairs.length, this.seed, this.epoch);
      }
      picked.push(this.order[this.cursor++]!);
    }
    return picked;
  }

  /** Rows for pairs `picked`: chosen sides in rows [0, B), rejected in [B, 2B). */
  rows(picked: readonly number[]): SftRows {
    const sides = [
      ...picked.map((i) => this.pairs[i]!.chosen),
      ...picked.map((i) => this.pairs[i]!.rejected),
    ];
    return paddedRows(sides, this.buckets, this.padId);
  }

  position(): { epoch: number; cursor: number } {
    return { epoch: this.epoch, cursor: this.cursor };
  }

  restore(p: { epoch?: number; cursor?: number }): void {
    this.epoch = p.epoch ?? 0;
    this.cursor = p.cursor ?? 0;
    this.order = shuffledOrder(this.pairs.length, this.seed, this.epoch);
  }
}
