// A byte-level BPE trainer (GPT-2 style), written here rather than taken from a tokenizer-training
// library. Text is split into words with GPT-2's pattern and the distinct words are counted; each
// word is its UTF-8 bytes; then, until the vocabulary is full, the most frequent adjacent pair of
// symbols becomes a new symbol.
//
// The learning is the classic incremental algorithm, the one the Hugging Face tokenizers trainer
// (BpeTrainer) uses: pair counts weighted by word counts, for each pair the words that hold it, and a
// max-heap of (count, pair) with lazy invalidation. A merge rewrites only the words that hold its
// pair and changes only the counts of the pairs around each occurrence, so a step costs what the
// merged pair touches, not the corpus. Ties go to the pair with the smaller ids (left, then right),
// as in BpeTrainer, and the ids are laid out as BpeTrainer lays them (special tokens, then the 256
// byte symbols in character order, then the merges in order): on the same words, the two learn the
// same merges in the same order. Nothing depends on the order the files or words were read in.

import { checkOutputTarget, withAtomicOutput } from "../checkpoint/atomicOutput.js";
import {
  DEFAULT_TEXT_FIELD,
  fileFormat,
  type InputFile,
  listInputFiles,
  type ListOptions,
  noInputFiles,
  readInputDocuments,
} from "../data/corpus.js";
import { UsageError } from "../errors.js";
import { BYTE_TO_CHAR, GPT2_SPLIT_PATTERN } from "./byteLevel.js";
import { DEFAULT_MAX_LENGTH, writeTokenizerFiles } from "./writeTokenizerFiles.js";

export const BOS_TOKEN = "<|bos|>";
export const EOS_TOKEN = "<|eos|>";
export const PAD_TOKEN = "<|pad|>";
/** The special tokens, with ids 0, 1 and 2 in this order (ahead of the bytes, as BpeTrainer puts
 * special tokens): the ids stay the same whatever the vocabulary size. */
export const SPECIAL_TOKENS: readonly string[] = [BOS_TOKEN, EOS_TOKEN, PAD_TOKEN];
export const BYTE_TOKENS = 256;
/** The smallest vocabulary: the special tokens and the 256 bytes, no merge. */
export const MIN_VOCAB_SIZE = SPECIAL_TOKENS.length + BYTE_TOKENS;
/** Ids travel as uint32 in token caches and as embedding rows in models; 2^24 (16.7 M) tokens is
 * far past any vocabulary in use (the largest published are ~262k). */
export const MAX_VOCAB_SIZE = 1 << 24;
export const DEFAULT_VOCAB_SIZE = 4096;
export const DEFAULT_MIN_FREQUENCY = 2;

/** Distinct words (pieces of GPT2_SPLIT_PATTERN) of the texts added, with their counts. */
export class WordCounts {
  readonly counts = new Map<string, number>();
  /** Words added, repeats included. */
  words = 0;
  private readonly regex = new RegExp(GPT2_SPLIT_PATTERN, "gu");

  add(text: string): void {
    const re = this.regex;
    re.lastIndex = 0;
    const counts = this.counts;
    let n = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const w = m[0];
      counts.set(w, (counts.get(w) ?? 0) + 1);
      n++;
    }
    this.words += n;
  }
}

export interface LearnBpeOptions {
  /** Total vocabulary size, the 3 special tokens and the 256 bytes included. */
  vocabSize: number;
  /** A pair seen fewer times than this (in the weighted word counts) is not merged (default 2). */
  minFrequency?: number;
  /** Called now and then while merging, with the merges done and the most there can be. */
  onProgress?: (merges: number, target: number) => void;
}

/** Which ids the special tokens have. */
export interface SpecialTokenIds {
  bos: number;
  eos: number;
  pad: number;
}

/** BOS_TOKEN, EOS_TOKEN and PAD_TOKEN's ids in every vocabulary this trainer makes. */
export const SPECIAL_TOKEN_IDS: Readonly<SpecialTokenIds> = { bos: 0, eos: 1, pad: 2 };

export interface BpeModel {
  /** Token strings by id: SPECIAL_TOKENS, the 256 byte symbols (GPT-2's BYTE_TO_CHAR characters) in
   * character order, then each new string a merge made, in the order made. */
  tokens: string[];
  /** The merges in the order learned (their rank), each as its two byte-level strings: one per token
   * after the bytes (were a merge's result already a token, it would add no token, as in BpeTrainer). */
  merges: [string, string][];
  special: SpecialTokenIds;
}

export interface LearnBpeStats {
  /** Distinct words that took part (words of one byte have no pair and are left out). */
  words: number;
  /** How many times the last merge's pair occurred (weighted by word counts); 0 with no merge. */
  lastMergeCount: number;
  /** Why learning ended: the vocabulary is full, or no pair is left that occurs minFrequency times. */
  stopped: "vocab-size" | "min-frequency";
}

/** UsageError unless `n` is a vocabulary size this trainer can fill. */
export function checkVocabSize(n: number): void {
  if (!Number.isSafeInteger(n)) throw new UsageError(`--vocab ${n}: expected a whole number of tokens`);
  if (n < MIN_VOCAB_SIZE)
    throw new UsageError(
      `--vocab ${n} is too small: the vocabulary holds the ${SPECIAL_TOKENS.length} special tokens and the ${BYTE_TOKENS} bytes before any merge, so at least ${MIN_VOCAB_SIZE}`,
    );
  if (n > MAX_VOCAB_SIZE) throw new UsageError(`--vocab ${n} is over the limit of ${MAX_VOCAB_SIZE} tokens`);
}

function checkMinFrequency(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`--min-frequency ${n}: expected a whole number ≥ 0`);
}

/** A binary max-heap of (count, pair key): larger count first, then the smaller key, which orders
 * pairs by (left id, right id) since key = left · vocabSize + right. */
class PairHeap {
  private counts = new Float64Array(1024);
  private keys = new Float64Array(1024);
  size = 0;

  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    if (this.size === this.counts.length) {
      const counts = new Float64Array(this.size * 2);
      counts.set(this.counts);
      this.counts = counts;
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    let i = this.size++;
    this.counts[i] = count;
    this.keys[i] = key;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top; its count and key are left in topCount/topKey. */
  pop(): void {
    this.topCount = this.counts[0]!;
    this.topKey = this.keys[0]!;
    const last = --this.size;
    this.counts[0] = this.counts[last]!;
    this.keys[0] = this.keys[last]!;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const child = r < last && this.before(r, l) ? r : l;
      if (!this.before(child, i)) break;
      this.swap(i, child);
      i = child;
    }
  }
  topCount = 0;
  topKey = 0;
}

const textEncoder = new TextEncoder();

/**
 * Learns byte-level BPE merges from word counts (see WordCounts) until the vocabulary has
 * `vocabSize` tokens, or no pair occurs `minFrequency` times. UsageError for a vocabulary size under
 * MIN_VOCAB_SIZE, over MAX_VOCAB_SIZE or not a whole number.
 */
export function learnBpe(
  counts: ReadonlyMap<string, number>,
  opts: LearnBpeOptions,
): BpeModel & { stats: LearnBpeStats } {
  const vocabSize = opts.vocabSize;
  checkVocabSize(vocabSize);
  checkMinFrequency(opts.minFrequency ?? DEFAULT_MIN_FREQUENCY);
  const minFrequency = Math.max(1, opts.minFrequency ?? DEFAULT_MIN_FREQUENCY);

  // Ids: special tokens, then the byte symbols sorted by character (BpeTrainer's alphabet order).
  const tokens: string[] = [...SPECIAL_TOKENS];
  const byteId = new Int32Array(BYTE_TOKENS);
  const bytesByChar = [...BYTE_TO_CHAR.keys()].sort(
    (a, b) => BYTE_TO_CHAR[a]!.charCodeAt(0) - BYTE_TO_CHAR[b]!.charCodeAt(0),
  );
  for (const b of bytesByChar) {
    byteId[b] = tokens.length;
    tokens.push(BYTE_TO_CHAR[b]!);
  }
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));

  // Words of two bytes or more, as symbol ids in one flat array (each word in its own slot, which
  // only shrinks as merges join its symbols).
  const encoded: Uint8Array[] = [];
  const weights: number[] = [];
  let total = 0;
  for (const [word, count] of counts) {
    const bytes = textEncoder.encode(word);
    if (bytes.length < 2) continue;
    encoded.push(bytes);
    weights.push(count);
    total += bytes.length;
  }
  const nWords = encoded.length;
  const symbols = new Int32Array(total);
  const start = new Int32Array(nWords);
  const length = new Int32Array(nWords);
  const weight = Float64Array.from(weights);
  for (let w = 0, at = 0; w < nWords; w++) {
    const bytes = encoded[w]!;
    start[w] = at;
    length[w] = bytes.length;
    for (const b of bytes) symbols[at++] = byteId[b]!;
  }
  encoded.length = 0;

  // A pair's key: left · K + right, with every id below K (a small integer for any usual size).
  const K = vocabSize;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const noteWord = (key: number, w: number) => {
    const list = pairWords.get(key);
    if (list === undefined) pairWords.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < nWords; w++) {
    const s = start[w]!;
    const e = s + length[w]!;
    const c = weight[w]!;
    for (let i = s; i + 1 < e; i++) {
      const key = symbols[i]! * K + symbols[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      noteWord(key, w);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const merges: [string, string][] = [];
  const target = vocabSize - tokens.length;
  const seen = new Int32Array(nWords).fill(-1);
  const delta = new Map<number, number>();
  let lastMergeCount = 0;
  let stopped: LearnBpeStats["stopped"] = "vocab-size";
  let reported = 0;
  while (tokens.length < vocabSize) {
    if (heap.size === 0) {
      stopped = "min-frequency";
      break;
    }
    heap.pop();
    const key = heap.topKey;
    const count = heap.topCount;
    const current = pairCount.get(key) ?? 0;
    if (current !== count) {
      // A stale entry: the count fell since (when it rose, a fresh entry was pushed then).
      if (current > 0 && current < count) heap.push(current, key);
      continue;
    }
    if (count < minFrequency) {
      stopped = "min-frequency";
      break;
    }
    const a = Math.floor(key / K);
    const b = key - a * K;
    const joined = tokens[a]! + tokens[b]!;
    let c = idOf.get(joined);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(joined);
      idOf.set(joined, c);
    }
    const step = merges.length;
    merges.push([tokens[a]!, tokens[b]!]);
    lastMergeCount = count;
    pairCount.delete(key);
    const holders = pairWords.get(key) ?? [];
    pairWords.delete(key);

    // Rewrite each word that holds the pair, left to right (an occurrence overlapping one just
    // merged is not one: "aaa" → "Xa"), noting how the pairs around each occurrence change.
    delta.clear();
    const change = (k: number, d: number) => delta.set(k, (delta.get(k) ?? 0) + d);
    for (const w of holders) {
      if (seen[w] === step) continue;
      seen[w] = step;
      const s = start[w]!;
      const e = s + length[w]!;
      const wt = weight[w]!;
      let out = s;
      for (let i = s; i < e;) {
        if (i + 1 < e && symbols[i] === a && symbols[i + 1] === b) {
          if (out > s) {
            const prev = symbols[out - 1]!;
            change(prev * K + a, -wt);
            change(prev * K + c, wt);
            noteWord(prev * K + c, w);
          }
          if (i + 2 < e) {
            const next = symbols[i + 2]!;
            change(b * K + next, -wt);
            change(c * K + next, wt);
            noteWord(c * K + next, w);
          }
          symbols[out++] = c;
          i += 2;
        } else symbols[out++] = symbols[i++]!;
      }
      length[w] = out - s;
    }
    for (const [k, d] of delta) {
      if (d === 0 || k === key) continue;
      const n = (pairCount.get(k) ?? 0) + d;
      if (n <= 0) {
        pairCount.delete(k);
        pairWords.delete(k);
      } else {
        pairCount.set(k, n);
        if (d > 0) heap.push(n, k);
      }
    }
    if (opts.onProgress && merges.length - reported >= 64) {
      reported = merges.length;
      opts.onProgress(merges.length, target);
    }
  }
  opts.onProgress?.(merges.length, target);
  return {
    tokens,
    merges,
    special: { ...SPECIAL_TOKEN_IDS },
    stats: { words: nWords, lastMergeCount, stopped },
  };
}

export interface TrainBpeOptions extends LearnBpeOptions {
  /** Text files, folders of them (read recursively, dot-files skipped), JSONL, or gzip of either. */
  inputs: readonly string[];
  /** In folders, read only the files whose names end in one of these extensions ("txt", "jsonl";
   * no dot; .gz of each counts too). Files named in `inputs` are always read. Default:
   * DEFAULT_TEXT_EXTENSIONS. */
  extensions?: readonly string[];
  /** Told each file of a folder that the extensions leave out. */
  onSkip?: (path: string) => void;
  /** The JSONL field that holds the text (default "text"). */
  textField?: string;
  /** Called once the input files are listed, with their total size on disk. */
  onReadStart?: (totalBytes: number) => void;
  /** Called as input bytes are read, with the bytes read so far. */
  onRead?: (bytes: number) => void;
}

export interface TrainStats extends LearnBpeStats {
  files: number;
  documents: number;
  /** Input bytes read from disk (compressed bytes for .gz). */
  bytes: number;
  /** Words (pieces of the split pattern) in the text, repeats included. */
  totalWords: number;
  vocabSize: number;
  requestedVocabSize: number;
  merges: number;
  minFrequency: number;
  readSeconds: number;
  learnSeconds: number;
}

export type TrainBpeResult = BpeModel & { stats: TrainStats };

/** The files `inputs` name (folders filtered by extension), each checked to be one the reader takes. */
async function inputFiles(inputs: readonly string[], list: ListOptions): Promise<InputFile[]> {
  const files = await listInputFiles(inputs, list);
  // Refuse a file the reader would refuse now, before reading megabytes of the others.
  for (const f of files) fileFormat(f.path);
  return files;
}

/**
 * Reads the documents of `opts.inputs` one file at a time (see readFileDocuments), counts their
 * words, and learns byte-level BPE on them (learnBpe). UsageError for a bad vocabulary size or
 * minimum frequency (before anything is read), no input files, no text, and every input error
 * readFileDocuments names (missing file, binary data, bad JSONL, .json).
 */
export async function trainBpe(opts: TrainBpeOptions): Promise<TrainBpeResult> {
  checkVocabSize(opts.vocabSize);
  const minFrequency = opts.minFrequency ?? DEFAULT_MIN_FREQUENCY;
  checkMinFrequency(minFrequency);
  const textField = opts.textField ?? DEFAULT_TEXT_FIELD;
  if (textField === "") throw new UsageError("--text-field must not be empty");
  if (opts.inputs.length === 0) throw new UsageError("name the text to train on (files or folders)");
  const files = await inputFiles(opts.inputs, { extensions: opts.extensions, onSkip: opts.onSkip });
  if (files.length === 0) throw noInputFiles(opts.inputs, opts.extensions);

  const readStarted = performance.now();
  opts.onReadStart?.(files.reduce((sum, f) => sum + f.bytes, 0));
  let bytes = 0;
  const onBytes = (n: number) => {
    bytes += n;
    opts.onRead?.(bytes);
  };
  const counter = new WordCounts();
  let documents = 0;
  for (const file of files) {
    for await (const doc of readInputDocuments(file, { textField, onBytes })) {
      counter.add(doc.text);
      documents++;
    }
  }
  if (documents === 0)
    throw new UsageError(
      `no text in ${opts.inputs.join(", ")}: every file${files.length > 1 ? ` (${files.length})` : ""} and JSONL line is empty`,
    );
  const readSeconds = (performance.now() - readStarted) / 1000;

  const learnStarted = performance.now();
  const learned = learnBpe(counter.counts, {
    vocabSize: opts.vocabSize,
    minFrequency,
    onProgress: opts.onProgress,
  });
  return {
    tokens: learned.tokens,
    merges: learned.merges,
    special: learned.special,
    stats: {
      ...learned.stats,
      files: files.length,
      documents,
      bytes,
      totalWords: counter.words,
      vocabSize: learned.tokens.length,
      requestedVocabSize: opts.vocabSize,
      merges: learned.merges.length,
      minFrequency,
      readSeconds,
      learnSeconds: (performance.now() - learnStarted) / 1000,
    },
  };
}

export interface TrainTokenizerOptions extends TrainBpeOptions {
  /** The folder to write (tokenizer.json, tokenizer_config.json, special_tokens_map.json). */
  out: string;
  /** Replace an existing `out`. */
  force?: boolean;
  /** tokenizer_config.json's model_max_length (default DEFAULT_MAX_LENGTH). */
  maxLength?: number;
}

/**
 * trainBpe, then the tokenizer files written to `opts.out` atomically: into a temporary folder
 * beside it, renamed when complete. An existing `out` is refused before any reading unless
 * `force`, and is only replaced once the new files are whole. OutputError for an output that exists
 * (without force), lies inside an input folder or contains one, or cannot be written.
 */
export async function trainTokenizer(opts: TrainTokenizerOptions): Promise<TrainBpeResult> {
  checkVocabSize(opts.vocabSize);
  const maxLength = opts.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!Number.isSafeInteger(maxLength) || maxLength < 1)
    throw new UsageError(`--max-length ${maxLength}: expected a whole number of tokens ≥ 1`);
  const atomic = { force: opts.force, inputs: opts.inputs };
  checkOutputTarget(opts.out, atomic);
  const result = await trainBpe(opts);
  await withAtomicOutput(opts.out, atomic, (tmp) => writeTokenizerFiles(tmp, result, { maxLength }));
  return result;
}
