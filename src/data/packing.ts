// Packing for pretraining: the chosen documents' tokens (each ending in EOS) run together as one
// stream, cut into windows of seqLen + 1 tokens (seqLen inputs, and the same shifted by one as
// next-token targets). Windows cross document boundaries, as in GPT-style pretraining: the EOS
// between documents is what tells the model a new one begins.

import { UsageError } from "../errors.js";
import { mulberry32 } from "../random.js";
import type { TokenizedCorpus } from "./tokenCache.js";

/** murmur3's 32-bit finaliser: spreads a seed so that nearby seeds (1, 2, 3) start unrelated streams. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Salts so that the split and the shuffle drawn from one --seed are independent streams. */
const SPLIT_SALT = 0x5d1e7a11;
const SHUFFLE_SALT = 0x0e90c4ab;

function checkSeed(seed: number, what = "seed"): void {
  if (!Number.isSafeInteger(seed)) throw new UsageError(`${what} must be a whole number, not ${seed}`);
}

/** Shuffles `a` in place (Fisher–Yates) with `random` in [0, 1). */
function fisherYates(a: Uint32Array, random: () => number, stopAt = 1): void {
  for (let i = a.length - 1; i >= stopAt; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/**
 * Splits document indices 0..documents−1 into training and evaluation: round(documents ×
 * evalFraction) documents, at least 1 when evalFraction > 0, drawn at random with `seed`, go to
 * eval. Both lists are sorted and never overlap. UsageError for a fraction outside [0, 1), no
 * documents, or a split that would leave no document for training.
 */
export function splitDocuments(
  documents: number,
  evalFraction: number,
  seed: number,
): { train: number[]; eval: number[] } {
  if (!Number.isSafeInteger(documents) || documents < 0)
    throw new UsageError(`the number of documents must be a whole number ≥ 0, not ${documents}`);
  if (!(evalFraction >= 0 && evalFraction < 1))
    throw new UsageError(`eval fraction must be at least 0 and below 1, not ${evalFraction}`);
  checkSeed(seed);
  if (documents === 0) throw new UsageError("the corpus has no documents to split");
  const evalCount = evalFraction > 0 ? Math.max(1, Math.round(documents * evalFraction)) : 0;
  if (evalCount >= documents)
    throw new UsageError(
      `eval fraction ${evalFraction} of ${documents} document${documents === 1 ? "" : "s"} leaves none for training: use a smaller fraction, or 0 for no eval split`,
    );
  const order = new Uint32Array(documents);
  for (let i = 0; i < documents; i++) order[i] = i;
  // A partial Fisher–Yates from the top: the last evalCount slots end up a uniform random subset.
  fisherYates(order, mulberry32(mix32((seed ^ SPLIT_SALT) >>> 0)), documents - evalCount);
  const isEval = new Uint8Array(documents);
  for (let i = documents - evalCount; i < documents; i++) isEval[order[i]!] = 1;
  const train: number[] = [];
  const evalDocs: number[] = [];
  for (let i = 0; i < documents; i++) (isEval[i] ? evalDocs : train).push(i);
  return { train, eval: evalDocs };
}

/**
 * A seeded permutation of 0..count−1 (Fisher–Yates with mulberry32): the same for the same (seed,
 * epoch), a different one for each epoch.
 */
export function shuffledOrder(count: number, seed: number, epoch: number): Uint32Array {
  if (!Number.isSafeInteger(count) || count < 0 || count > 0xffffffff)
    throw new UsageError(`the number of sequences must be a whole number in [0, 2^32), not ${count}`);
  checkSeed(seed);
  checkSeed(epoch, "epoch");
  if (epoch < 0) throw new UsageError(`epoch must be ≥ 0, not ${epoch}`);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  // Each epoch's stream: the seed's mixed state XOR the epoch's, so (seed, epoch) → distinct states.
  const state = mix32((seed ^ SHUFFLE_SALT) >>> 0) ^ mix32((epoch + 1) >>> 0);
  fisherYates(order, mulberry32(state >>> 0));
  return order;
}

/** A run of consecutive tokens in the token file. */
interface Piece {
  fileStart: number;
  count: number;
}

/**
 * The selected documents of a tokenized corpus as packed training sequences. Sequence i is
 * stream[i·seqLen, i·seqLen + seqLen + 1): consecutive sequences overlap by one token (the last
 * target of one is the first input of the next), so every token but the first is a target once.
 * count = floor((N − 1) / seqLen) for a stream of N tokens; the tail that does not fill a sequence
 * is dropped.
 */
export class PackedSequences {
  readonly count: number;
  /** Tokens in the stream (N). */
  readonly tokens: number;
  /** prefix[k] = stream offset where the k-th selected document starts; prefix[docs.length] = N. */
  private readonly prefix: Float64Array;
  private readonly docs: Uint32Array;

  /** `name` says what the stream is in messages ("the training split"). */
  constructor(
    private readonly corpus: TokenizedCorpus,
    documents: readonly number[],
    readonly seqLen: number,
    name = "the corpus",
  ) {
    if (!Number.isSafeInteger(seqLen) || seqLen < 1)
      throw new UsageError(`seq-len must be a whole number ≥ 1, not ${seqLen}`);
    this.docs = new Uint32Array(documents.length);
    this.prefix = new Float64Array(documents.length + 1);
    for (let k = 0; k < documents.length; k++) {
      const d = documents[k]!;
      if (!Number.isInteger(d) || d < 0 || d >= corpus.documents)
        throw new RangeError(`document ${d} is outside the corpus's ${corpus.documents} documents`);
      this.docs[k] = d;
      this.prefix[k + 1] = this.prefix[k]! + corpus.docStart(d + 1) - corpus.docStart(d);
    }
    this.tokens = this.prefix[documents.length]!;
    if (this.tokens < seqLen + 1)
      throw new UsageError(
        `${name} has ${this.tokens} token${this.tokens === 1 ? "" : "s"} (${documents.length} document${documents.length === 1 ? "" : "s"}); one sequence of seq-len ${seqLen} needs seq-len + 1 = ${seqLen + 1}`,
      );
    this.count = Math.floor((this.tokens - 1) / seqLen);
  }

  /** The k such that prefix[k] ≤ offset < prefix[k + 1] (the last such k, past empty documents). */
  private docAt(offset: number): number {
    let lo = 0;
    let hi = this.docs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.prefix[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The file ranges that hold stream[start, start + length), adjacent ranges merged. */
  private pieces(start: number, length: number): Piece[] {
    const out: Piece[] = [];
    let k = this.docAt(start);
    let offset = start;
    let left = length;
    while (left > 0) {
      const doc = this.docs[k]!;
      const inDoc = offset - this.prefix[k]!;
      const take = Math.min(left, this.prefix[k + 1]! - offset);
      if (take > 0) {
        const fileStart = this.corpus.docStart(doc) + inDoc;
        const last = out[out.length - 1];
        if (last && last.fileStart + last.count === fileStart) last.count += take;
        else out.push({ fileStart, count: take });
        offset += take;
        left -= take;
      }
      k++;
    }
    return out;
  }

  /** Sequence i: seqLen + 1 tokens (inputs = [0, seqLen), targets = [1, seqLen + 1)). */
  async get(i: number): Promise<Uint32Array> {
    if (!Number.isInteger(i) || i < 0 || i >= this.count)
      throw new RangeError(`sequence ${i} is outside the ${this.count} packed sequences`);
    const out = new Uint32Array(this.seqLen + 1);
    let at = 0;
    for (const p of this.pieces(i * this.seqLen, this.seqLen + 1)) {
      out.set(await this.corpus.read(p.fileStart, p.count), at);
      at += p.count;
    }
    return out;
  }
}
