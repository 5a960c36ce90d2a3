// The LoRA update's arithmetic on every core: a chunk is split into element ranges (cut at row starts)
// and each range runs addLowRank in a worker thread, over C, V and the chunk held in SharedArrayBuffers.
// Every element is computed by the same operations in the same order as on one thread, so the output is
// bit-identical whatever the thread count.
//
// DEEPEN_LORA_THREADS=N caps the threads at N (1: everything on the main thread); unset or empty, one a
// core up to MAX_THREADS.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { UsageError } from "../../errors.js";
import type { LowRank } from "./lowRank.js";

/** More threads than this split a 1M-element chunk too thinly to gain, and each holds its own heap. */
export const MAX_THREADS = 8;

/** Multiply-adds in a chunk below which the main thread does it alone: about 4 ms of work, where waking
 * threads and messaging them starts to cost a noticeable part of what they would save. */
export const POOL_MIN_WORK = 1 << 22;

/** An idle pool's threads end after this long, so a long-lived process does not keep them. */
const IDLE_MS = 30_000;

/** What a worker is sent: the factors and the chunk's elements [start, start + w.length), all shared. */
export interface LowRankJob extends LowRank {
  id: number;
  start: number;
  w: Float32Array;
}

export interface LowRankReply {
  id: number;
  error?: string;
}

const WORKER_FILE = new URL("./lowRankWorker.js", import.meta.url);

/** The threads the environment allows: DEEPEN_LORA_THREADS, else one a core, at most MAX_THREADS. */
export function loraThreads(): number {
  const set = process.env.DEEPEN_LORA_THREADS;
  if (set === undefined || set === "") return Math.min(availableParallelism(), MAX_THREADS);
  const n = Number(set);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`DEEPEN_LORA_THREADS must be a positive integer, got '${set}'`);
  return Math.min(n, MAX_THREADS);
}

export const isShared = (a: ArrayBufferView): boolean =>
  typeof SharedArrayBuffer === "function" && a.buffer instanceof SharedArrayBuffer;

/** A float32 array in shared memory, which the pool's threads can write. */
export const sharedFloats = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Worker threads that run addLowRank on ranges of a chunk. They keep the process alive only while working. */
export class LowRankPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private running = 0;
  private idle?: NodeJS.Timeout;
  private failure?: Error;

  constructor(readonly threads: number) {
    try {
      for (let i = 0; i < threads; i++) {
        const worker = new Worker(WORKER_FILE);
        worker.unref();
        worker.on("message", (r: LowRankReply) => this.settle(r));
        worker.on("error", (e) => this.fail(e));
        worker.on("messageerror", (e) => this.fail(e));
        worker.on("exit", (code) => this.fail(new Error(`low-rank worker thread exited (code ${code})`)));
        this.workers.push(worker);
      }
    } catch (e) {
      for (const w of this.workers) void w.terminate();
      throw e;
    }
  }

  /** Whether the pool can take work: a failed pool's threads are ended and it is replaced. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /**
   * Adds elements [start, start + w.length) of C·V to `w` in place, exactly as addLowRank does; u.c,
   * u.v and w must be in shared memory. Settles once every range has; a thread's failure ends them all
   * (so `w` is then to be dropped) and is thrown here.
   */
  async addLowRank(u: LowRank, start: number, w: Float32Array): Promise<void> {
    if (!isShared(u.c) || !isShared(u.v) || !isShared(w))
      throw new Error("internal: the low-rank pool works on SharedArrayBuffer-backed arrays only");
    if (this.failure) throw this.failure;
    const { rows, cols, rank, c, v } = u;
    const end = start + w.length;
    const jobs: Promise<void>[] = [];
    let from = start;
    for (let p = 1; p <= this.threads && from < end; p++) {
      let to = start + Math.round((p * w.length) / this.threads);
      const rowStart = Math.round(to / cols) * cols; // whole rows where the chunk has rows to spare
      if (p === this.threads) to = end;
      else if (rowStart > from && rowStart < end) to = rowStart;
      if (to <= from) continue;
      const job: LowRankJob = {
        id: this.nextId++,
        rows,
        cols,
        rank,
        c,
        v,
        start: from,
        w: w.subarray(from - start, to - start),
      };
      jobs.push(this.post(this.workers[p - 1]!, job));
      from = to;
    }
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Ends the threads; jobs in flight are refused. */
  async close(): Promise<void> {
    this.fail(new Error("the low-rank pool was closed"));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private post(worker: Worker, job: LowRankJob): Promise<void> {
    if (this.running++ === 0) {
      clearTimeout(this.idle);
      for (const w of this.workers) w.ref(); // awaited work keeps the process alive
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      try {
        worker.postMessage(job);
      } catch (e) {
        this.settle({ id: job.id, error: e instanceof Error ? e.message : String(e) });
      }
    });
  }

  private settle(r: LowRankReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    this.done();
    if (r.error === undefined) p.resolve();
    else p.reject(new Error(`low-rank worker thread: ${r.error}`));
  }

  private done(): void {
    if (--this.running > 0) return;
    for (const w of this.workers) w.unref();
    this.idle = setTimeout(() => void this.close(), IDLE_MS).unref();
  }

  /** Refuses every job in flight with `e`, and ends the threads; the first failure is the one reported. */
  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    clearTimeout(this.idle);
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.running = 0;
    for (const p of pending) p.reject(e);
    if (shared === this) shared = undefined;
    for (const w of this.workers) void w.terminate();
  }
}

let shared: LowRankPool | undefined;

/**
 * The process's pool, started on first use, or undefined where the work stays on the main thread:
 * DEEPEN_LORA_THREADS=1, one core, no SharedArrayBuffer, or no compiled worker file (run from source).
 */
export function lowRankPool(): LowRankPool | undefined {
  if (shared?.usable) return shared;
  const threads = loraThreads();
  if (threads < 2 || typeof SharedArrayBuffer !== "function") return undefined;
  if (!existsSync(fileURLToPath(WORKER_FILE))) return undefined;
  try {
    shared = new LowRankPool(threads);
  } catch {
    return undefined; // threads refused (resource limits): the main thread does the work
  }
  return shared;
}
