// Streaming merges from disk: the inputs' chunks are read by offset ahead of the chunk being merged,
// and written behind it, so reading, computing and writing overlap. Two kinds:
// - elementwise merges with a SIMD kernel (linear, task_arithmetic on BF16/F32): the tensors of one
//   merge stream as one sequence of chunks (ElementwiseSession), reads running ahead across tensor
//   boundaries; input bytes are read straight into the kernel's memory, output bytes written from there;
// - any chunked merge (method.ts's ChunkedMerge): each pass reads every chunk of every input, decoded
//   to float32; the output pass encodes and writes.
// Memory is a few chunks per input, whatever the tensors' sizes.
import type { FileHandle } from "node:fs/promises";
import { DTYPE_BYTES, type DType, decodeFloats, encodeFloats } from "../checkpoint/dtype.js";
import type { TensorEntry } from "../checkpoint/safetensorsHeader.js";
import type { ByteSink, OutputTensor, StreamContext } from "../checkpoint/tensorStream.js";
import { CheckpointError } from "../errors.js";
import { alignedChunk } from "./methods/chunked.js";
import type { ChunkedMerge } from "./methods/method.js";
import type { SimdDType } from "./kernels/codegen.js";
import { type ElementwiseSpec, Kernels } from "./kernels/kernels.js";

/**
 * SIMD kernels, unless DEEPEN_MERGE_KERNELS=0 asks for the JavaScript loops (same results; for the
 * tests, and for anyone who wants to rule the kernels out).
 */
const newKernels = () => (process.env.DEEPEN_MERGE_KERNELS === "0" ? undefined : Kernels.create());

/** One Kernels object (one WebAssembly memory) per stream context, created on first use. */
const kernelsByContext = new WeakMap<StreamContext, Kernels | null>();
function kernelsFor(io: StreamContext): Kernels | undefined {
  let k = kernelsByContext.get(io);
  if (k === undefined) {
    k = newKernels() ?? null;
    kernelsByContext.set(io, k);
  }
  return k ?? undefined;
}

async function readFully(fh: FileHandle, buf: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, position + done);
    if (bytesRead === 0)
      throw new CheckpointError(file, `ended early at byte ${position + done}: file truncated?`);
    done += bytesRead;
  }
}

/** Reads elements [start, start + count) of a tensor into the front of `buf`. */
async function readElements(
  io: StreamContext,
  e: TensorEntry,
  start: number,
  count: number,
  buf: Uint8Array,
) {
  const size = DTYPE_BYTES[e.dtype];
  await readFully(await io.handle(e.file), buf.subarray(0, count * size), e.begin + start * size, e.file);
}

/** Marks a promise's rejection as handled (it is reported where the promise is awaited). */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** Chunks in flight: reads run up to DEPTH − 1 chunks ahead of the work, writes up to DEPTH − 1 behind. */
export const DEPTH = 3;

/**
 * Runs `work` on chunks [s, s + step) of [0, total) in order, `read` having filled the chunk's slot
 * (0…DEPTH − 1) first. Reads run ahead while `work` handles the current chunk; a slot is read into
 * again only after its work has returned.
 */
async function pipeline(
  total: number,
  step: number,
  read: (start: number, count: number, slot: number) => Promise<unknown>,
  work: (start: number, count: number, slot: number) => unknown,
): Promise<void> {
  const chunks = Math.ceil(total / step);
  const reads: Promise<unknown>[] = [];
  const issue = (c: number) => {
    if (c >= chunks) return;
    reads[c % DEPTH] = quiet(read(c * step, Math.min(step, total - c * step), c % DEPTH));
  };
  for (let c = 0; c < DEPTH - 1; c++) issue(c);
  try {
    for (let c = 0; c < chunks; c++) {
      await reads[c % DEPTH];
      issue(c + DEPTH - 1); // into the slot of chunk c − 1, whose work is done
      await work(c * step, Math.min(step, total - c * step), c % DEPTH);
    }
  } catch (e) {
    await Promise.allSettled(reads); // no read may still land in a buffer the next tensor reuses
    throw e;
  }
}

/**
 * Writes byte chunks in order from DEPTH output slots: put() queues a slot's bytes behind the writes
 * before it and returns at once; free(slot) waits until that slot's last write is done.
 */
class Writer {
  private last: Promise<void> = Promise.resolve();
  private readonly done: Promise<void>[] = [];
  constructor(private readonly sink: ByteSink) {}
  async free(slot: number): Promise<void> {
    await this.done[slot];
  }
  put(slot: number, bytes: Uint8Array): void {
    const w = quiet(this.last.then(() => this.sink.write(bytes))); // reported by free() or flush()
    this.last = w;
    this.done[slot] = w;
  }
  async flush(): Promise<void> {
    await this.last;
  }
  /** After a failure: waits for the writes in flight (their buffers may be reused); their errors are not the one to report. */
  async abandon(): Promise<void> {
    await this.last.catch(() => {});
  }
}

/**
 * Buffers for one tensor: in the kernels' memory when there is one (every allocation first, then
 * `more` for the merge's own, and only then the views: an allocation may grow the memory).
 */
function allocate(kernels: Kernels | undefined, sizes: number[], more?: () => void): Uint8Array[] {
  if (!kernels) return sizes.map((n) => new Uint8Array(new ArrayBuffer(Math.ceil(n / 16) * 16 + 16)));
  kernels.reset();
  const ptrs = sizes.map((n) => kernels.alloc(n));
  more?.();
  return ptrs.map((p, i) => kernels.bytes(p, sizes[i]!));
}

const floatsOf = (b: Uint8Array, n: number) => new Float32Array(b.buffer, b.byteOffset, n);

export interface StreamedMerge {
  name: string;
  dtype: DType;
  shape: number[];
  entries: TensorEntry[];
  /** Elements per chunk (rounded to the plan's alignment). */
  chunk: number;
  /**
   * The chunked merge (may throw: bad parameters), when the tensor's turn to be written comes; with
   * `kernels`, its chunks will be views into their memory.
   */
  plan: (kernels?: Kernels) => ChunkedMerge;
  /** For elementwise methods with a SIMD formula: the session and this tensor's place in it. */
  session?: { session: ElementwiseSession; index: number };
  /** The elementwise formula for the SIMD kernel (may throw likewise; undefined: none here). */
  simd?: () => ElementwiseSpec | undefined;
}

/** An output tensor merged from `entries` chunk by chunk as it is written. */
export function streamedMergeTensor(m: StreamedMerge): OutputTensor {
  const total = m.shape.reduce((a, b) => a * b, 1);
  return {
    name: m.name,
    dtype: m.dtype,
    shape: m.shape,
    byteLength: total * DTYPE_BYTES[m.dtype],
    async write(sink, io) {
      const spec = m.session?.session.runs(io) ? m.simd?.() : undefined;
      if (spec) return m.session!.session.write(m.session!.index, spec, sink);
      const kernels = kernelsFor(io);
      return chunkedStream(m, total, m.plan(kernels), kernels, sink, io);
    },
  };
}

interface Item {
  entries: TensorEntry[];
  total: number;
  dtype: DType;
  /** Global index of its first chunk. */
  first: number;
  spec: () => ElementwiseSpec | undefined;
}

/**
 * The elementwise tensors of one merge (those whose dtypes a SIMD kernel handles), streamed as one
 * sequence of chunks in write order: while a tensor's last chunks are merged and written, the next
 * tensor's first chunks are already being read. Its buffers (DEPTH slots of every input and of the
 * output) live in its own kernel memory, allocated once.
 */
export class ElementwiseSession {
  private readonly items: Item[] = [];
  /** A chunk merged ahead (the next tensor's first), waiting in its output slot for that tensor's write. */
  private ahead: { g: number; count: number } | undefined;
  private chunks = 0;
  private inputs = 0;
  private io?: StreamContext;
  private kernels?: Kernels;
  private slots: { inputs: number[]; out: number }[] = [];
  /** Reads in flight or done, by slot (chunk g goes to slot g % DEPTH). */
  private readonly reads: Promise<unknown>[] = [];
  /** The next chunk (global index) to read, and the next one expected to be merged. */
  private next = 0;
  private consumed = 0;

  constructor(private readonly step: number) {}

  /** Adds a tensor (in write order) and its formula; returns its index. */
  add(entries: TensorEntry[], dtype: DType, spec: () => ElementwiseSpec | undefined): number {
    const total = entries[0] ? numelOf(entries[0]) : 0;
    this.items.push({ entries, total, dtype, first: this.chunks, spec });
    this.inputs = Math.max(this.inputs, entries.length);
    this.chunks += Math.ceil(total / this.step);
    return this.items.length - 1;
  }

  /** Whether the session runs tensors written through `io` (SIMD kernels are available). */
  runs(io: StreamContext): boolean {
    if (this.io !== io) {
      this.io = io;
      this.kernels = newKernels();
      this.slots = [];
      this.next = 0;
      this.consumed = 0;
      this.ahead = undefined;
      this.reads.length = 0;
    }
    return this.kernels !== undefined;
  }

  /** The item and chunk of global chunk index g. */
  private locate(g: number): { item: number; chunk: number } {
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.items[mid]!.first <= g) lo = mid;
      else hi = mid - 1;
    }
    return { item: lo, chunk: g - this.items[lo]!.first };
  }

  /** Starts reading global chunk g into its slot (the slot's previous chunk is merged). */
  private issue(g: number): void {
    const { item, chunk } = this.locate(g);
    const it = this.items[item]!;
    const slot = this.slots[g % DEPTH]!;
    const start = chunk * this.step;
    const count = Math.min(this.step, it.total - start);
    const k = this.kernels!;
    this.reads[g % DEPTH] = quiet(
      Promise.all(
        it.entries.map((e, i) =>
          readElements(this.io!, e, start, count, k.bytes(slot.inputs[i]!, count * DTYPE_BYTES[e.dtype])),
        ),
      ),
    );
  }

  /** Merges global chunk g of item `it` with `spec` into its output slot; returns its element count. */
  private async merge(it: Item, spec: ElementwiseSpec, g: number, writer: Writer): Promise<number> {
    // Read ahead up to DEPTH − 1 chunks, into the next tensors too.
    for (; this.next < Math.min(g + DEPTH, this.chunks); this.next++) this.issue(this.next);
    const slot = g % DEPTH;
    await this.reads[slot];
    const count = Math.min(this.step, it.total - (g - it.first) * this.step);
    const s = this.slots[slot]!;
    await writer.free(slot);
    const inTypes = it.entries.map((e) => e.dtype as SimdDType);
    this.kernels!.elementwise(
      spec,
      inTypes,
      it.dtype as SimdDType,
      s.out,
      s.inputs.slice(0, inTypes.length),
      count,
    );
    return count;
  }

  /** Writes tensor `index` (after runs(io) said yes for the context it is written through). */
  async write(index: number, spec: ElementwiseSpec, sink: ByteSink): Promise<void> {
    const it = this.items[index]!;
    const k = this.kernels!;
    if (this.slots.length === 0) {
      // Every input and output slot takes a chunk of F32, the widest dtype a kernel handles; no
      // chunk is longer than the longest tensor, so small models take small buffers.
      const elements = Math.min(this.step, Math.max(1, ...this.items.map((i) => i.total)));
      this.slots = Array.from({ length: DEPTH }, () => ({
        inputs: Array.from({ length: this.inputs }, () => k.alloc(4 * elements)),
        out: k.alloc(4 * elements),
      }));
    }
    const first = it.first;
    const last = first + Math.ceil(it.total / this.step);
    if (first !== this.consumed) {
      // Tensors between the last one merged here and this one went another way: the chunks read
      // (or merged) ahead for them are of no use. Let those reads land, then start at this tensor.
      await Promise.allSettled(this.reads);
      this.next = first;
      this.ahead = undefined;
    }
    const outSize = DTYPE_BYTES[it.dtype];
    const writer = new Writer(sink);
    try {
      for (let g = first; g < last; g++) {
        const ahead = this.ahead?.g === g ? this.ahead.count : undefined;
        this.ahead = undefined;
        const count = ahead ?? (await this.merge(it, spec, g, writer));
        writer.put(g % DEPTH, k.bytes(this.slots[g % DEPTH]!.out, count * outSize));
        this.consumed = g + 1;
      }
      // While this tensor's last writes finish, merge the next tensor's first chunk (its write will
      // only queue the bytes). Its formula's errors surface here, naming that tensor.
      const nextItem = this.items[index + 1];
      const nextSpec =
        nextItem && nextItem.first === last && nextItem.total > 0 ? nextItem.spec() : undefined;
      if (nextSpec) this.ahead = { g: last, count: await this.merge(nextItem!, nextSpec, last, writer) };
      await writer.flush();
    } catch (e) {
      await writer.abandon();
      await Promise.allSettled(this.reads);
      this.consumed = -1; // start over at the next write
      this.ahead = undefined;
      throw e;
    }
  }
}

const numelOf = (e: TensorEntry) => (e.end - e.begin) / DTYPE_BYTES[e.dtype];

async function chunkedStream(
  m: StreamedMerge,
  total: number,
  plan: ChunkedMerge,
  kernels: Kernels | undefined,
  sink: ByteSink,
  io: StreamContext,
): Promise<void> {
  const N = m.entries.length;
  const step = alignedChunk(m.chunk, plan.align, total);
  const types = m.entries.map((e) => e.dtype);
  const inSize = types.map((d) => DTYPE_BYTES[d]);
  const outSize = DTYPE_BYTES[m.dtype];
  // Per slot and input: raw bytes; per input: float32 values (F32 inputs are used in place);
  // the float32 output; per slot: its encoded bytes.
  const slots = [...Array(DEPTH).keys()];
  const bufs = allocate(
    kernels,
    [
      ...slots.flatMap(() => inSize.map((s) => step * s)),
      ...types.map((d) => (d === "F32" ? 0 : step * 4)),
      step * 4,
      ...slots.map(() => step * outSize),
    ],
    kernels && (() => plan.prepare?.(step)),
  );
  const raw = (slot: number, i: number) => bufs[slot * N + i]!;
  const values = bufs.slice(DEPTH * N, (DEPTH + 1) * N);
  const out = floatsOf(bufs[(DEPTH + 1) * N]!, step);
  const encoded = (slot: number) => bufs[(DEPTH + 1) * N + 1 + slot]!;

  const decode = (slot: number, count: number): Float32Array[] =>
    types.map((d, i) => {
      const r = raw(slot, i);
      if (d === "F32") return floatsOf(r, count);
      const f = floatsOf(values[i]!, count);
      if (d === "BF16" && kernels) kernels.decodeBf16(kernels.address(f), kernels.address(r), count);
      else decodeFloats(d, r.subarray(0, count * inSize[i]!), f);
      return f;
    });
  const read = (s: number, c: number, slot: number) =>
    Promise.all(m.entries.map((e, i) => readElements(io, e, s, c, raw(slot, i))));

  for (let pass = plan.nextPass(); pass; pass = plan.nextPass()) {
    const p = pass;
    await pipeline(total, step, read, (s, c, slot) => p(s, decode(slot, c)));
  }
  const writer = new Writer(sink);
  try {
    await pipeline(total, step, read, async (s, c, slot) => {
      const o = out.subarray(0, c);
      plan.output(s, decode(slot, c), o);
      const bytes = encoded(slot).subarray(0, c * outSize);
      await writer.free(slot);
      if (m.dtype === "BF16" && kernels) kernels.encodeBf16(kernels.address(bytes), kernels.address(o), c);
      else encodeFloats(m.dtype, o, bytes);
      writer.put(slot, bytes);
    });
    await writer.flush();
  } catch (e) {
    await writer.abandon();
    throw e;
  }
}
