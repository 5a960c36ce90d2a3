// How SFT examples become decoder rows. Packed (--pack): each row holds whole examples, each keeping
// its own positions (restarting at 0) and segment id, so none attends to another; an epoch's rows
// are planned up front by first-fit decreasing over windows of the shuffled order (greedy filling
// in order wastes a fifth of the row on math-sized examples; FFD a few per cent). Unpacked: one
// example per row, rows of a micro-batch padded to the shortest of the length buckets that holds
// its longest example, and micro-batches drawn from windows sorted by length, so that padding
// stays small. Each epoch is a seeded function of (seed, epoch); the data position is (epoch,
// cursor), the cursor counting rows when packed and examples when not.
import { shuffledOrder } from "../../data/packing.js";
import type { EncodedExample } from "./encodeExample.js";
import type { SftRows } from "./sftLoss.js";

/** Micro-batches a length-sorted window spans: wide enough to group similar lengths, narrow
 * enough that the order stays random at the scale of an epoch. */
export const LENGTH_WINDOW_BATCHES = 32;
/** Examples a packing window plans at once: enough choice for first-fit to fill rows nearly full,
 * few enough that its quadratic search stays cheap and the epoch's order stays random. */
export const PACK_WINDOW = 2048;

/** Row lengths the unpacked step is compiled for: seqLen/8, /4, /2 and seqLen, multiples of 8. */
export function lengthBuckets(seqLen: number): number[] {
  const set = new Set<number>();
  for (const d of [8, 4, 2]) {
    const t = Math.ceil(seqLen / d / 8) * 8;
    if (t >= 16 && t < seqLen) set.add(t);
  }
  set.add(seqLen);
  return [...set].sort((a, b) => a - b);
}

/** Slots an example fills in a row: its tokens but the last are inputs, all but the first targets. */
export const slots = (e: EncodedExample) => e.tokens.length - 1;

export class SftBatcher {
  private epoch = 0;
  private cursor = 0;
  /** Unpacked: example indices in visiting order. Packed: the rows, each a list of example indices. */
  private order: Uint32Array;
  private rows: number[][] = [];
  private readonly buckets: number[];

  constructor(
    private readonly examples: readonly EncodedExample[],
    private readonly seed: number,
    private readonly seqLen: number,
    private readonly batch: number,
    private readonly pack: boolean,
    private readonly padId: number,
  ) {
    this.buckets = lengthBuckets(seqLen);
    this.order = this.epochOrder(0);
    if (pack) this.rows = this.packEpoch(this.order, 0);
  }

  /** First-fit decreasing: each window's examples, longest first, into the first row with room;
   * the window's rows are then shuffled so row fullness does not follow example length. */
  private packEpoch(order: Uint32Array, epoch: number): number[][] {
    const rows: number[][] = [];
    for (let w = 0; w < order.length; w += PACK_WINDOW) {
      const part = Array.from(order.subarray(w, w + PACK_WINDOW)).sort(
        (a, b) => slots(this.examples[b]!) - slots(this.examples[a]!) || a - b,
      );
      const bins: { room: number; items: number[] }[] = [];
      for (const i of part) {
        const n = slots(this.examples[i]!);
        let bin = bins.find((x) => x.room >= n);
        if (!bin) bins.push((bin = { room: this.seqLen, items: [] }));
        bin.items.push(i);
        bin.room -= n;
      }
      const mix = shuffledOrder(bins.length, this.seed ^ 0x9ac, epoch * 65536 + w / PACK_WINDOW);
      for (const k of mix) rows.push(bins[k]!.items);
    }
    return rows;
  }

  /** The epoch's order: shuffled; unpacked, also sorted by length within windows whose batches are
   * then shuffled, so a micro-batch holds examples of similar length. */
  private epochOrder(epoch: number): Uint32Array {
    const order = shuffledOrder(this.examples.length, this.seed, epoch);
    if (this.pack) return order;
    const window = this.batch * LENGTH_WINDOW_BATCHES;
    const out: number[] = [];
    for (let w = 0; w < order.length; w += window) {
      const part = Array.from(order.subarray(w, w + window)).sort(
        (a, b) => slots(this.examples[a]!) - slots(this.examples[b]!) || a - b,
      );
      const groups: number[][] = [];
      for (let i = 0; i < part.length; i += this.batch) groups.push(part.slice(i, i + this.batch));
      const mix = shuffledOrder(groups.length, this.seed ^ 0x5f7, epoch * 65536 + w / window);
      for (const g of mix) out.push(...groups[g]!);
    }
    return Uint32Array.from(out);
  }

  private newEpochIfDone(length: number) {
    if (this.cursor < length) return;
    this.epoch++;
    this.cursor = 0;
    this.order = this.epochOrder(this.epoch);
    if (this.pack) this.rows = this.packEpoch(this.order, this.epoch);
  }

  private take(): EncodedExample {
    this.newEpochIfDone(this.order.length);
    return this.examples[this.order[this.cursor++]!]!;
  }

  private takeRow(): EncodedExample[] {
    this.newEpochIfDone(this.rows.length);
    return this.rows[this.cursor++]!.map((i) => this.examples[i]!);
  }

  /** The next micro-batch of `batch` rows. */
  next(): SftRows {
    return this.pack ? this.packed() : this.padded();
  }

  private packed(): SftRows {
    const T = this.seqLen;
    const rows = emptyRows(this.batch, T, this.padId);
    rows.positions = rows.tokens.map(() => new Array<number>(T).fill(0));
    rows.segments = rows.tokens.map(() => new Array<number>(T).fill(0));
    for (let b = 0; b < this.batch; b++) {
      let at = 0;
      this.takeRow().forEach((e, k) => {
        const n = slots(e);
        for (let i = 0; i < n; i++) {
          rows.tokens[b]![at + i] = e.tokens[i]!;
          rows.targets[b]![at + i] = e.tokens[i + 1]!;
          rows.weights[b]![at + i] = e.trained[i + 1]!;
          rows.positions![b]![at + i] = i;
          rows.segments![b]![at + i] = k + 1; // 0 is the padding's segment
        }
        at += n;
        rows.tokenCount += n;
      });
    }
    return rows;
  }

  private padded(): SftRows {
    return paddedRows(
      Array.from({ length: this.batch }, () => this.take()),
      this.buckets,
      this.padId,
    );
  }

  position(): { epoch: number; cursor: number } {
    return { epoch: this.epoch, cursor: this.cursor };
  }

  restore(p: { epoch?: number; cursor?: number }): void {
    this.epoch = p.epoch ?? 0;
    this.cursor = p.cursor ?? 0;
    this.order = this.epochOrder(this.epoch);
    if (this.pack) this.rows = this.packEpoch(this.order, this.epoch);
  }
}

function emptyRows(B: number, T: number, padId: number): SftRows {
  const fill = (v: number) => Array.from({ length: B }, () => new Array<number>(T).fill(v));
  return { tokens: fill(padId), targets: fill(padId), weights: fill(0), tokenCount: 0 };
}

/**
 * One example a row, padded to the shortest of `buckets` that holds the longest (the largest
 * bucket at most): what unpacked SFT trains on, DPO's pairs and every held-out and reference pass.
 * Padding sits after each example, where causal attention keeps it from the example's tokens.
 */
export function paddedRows(
  examples: readonly EncodedExample[],
  buckets: readonly number[],
  padId: number,
): SftRows {
  const longest = Math.max(...examples.map(slots));
  const T = buckets.find((t) => t >= longest) ?? buckets.at(-1)!;
  const rows = emptyRows(examples.length, T, padId);
  examples.forEach((e, b) => {
    for (let i = 0; i < slots(e); i++) {
      rows.tokens[b]![i] = e.tokens[i]!;
      rows.targets[b]![i] = e.tokens[i + 1]!;
      rows.weights[b]![i] = e.trained[i + 1]!;
    }
    rows.tokenCount += slots(e);
  });
  return rows;
}
