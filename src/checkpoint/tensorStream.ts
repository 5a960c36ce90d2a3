import { type FileHandle, open } from "node:fs/promises";
import { CheckpointError } from "../errors.js";
import { CONVERTIBLE, DTYPE_BYTES, type DType, decodeFloats, encodeFloats } from "./dtype.js";
import type { TensorEntry } from "./safetensorsHeader.js";

/** Tensors stream through buffers of this size, so memory does not grow with the tensor. A multiple of 8 keeps
 * every chunk on a whole element of every dtype. */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/** Where a tensor's bytes go, in order. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** A tensor of the output: its header fields and how to produce its bytes. */
export interface OutputTensor {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
  write(sink: ByteSink, io: StreamContext): Promise<void>;
}

function alignedBuffer(bytes: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(bytes)); // offset 0: typed views over it are always aligned
}

/** Open input files and reusable buffers, shared by every tensor of one write. */
export class StreamContext {
  // The open promise, not the handle: concurrent first reads of one file share one open.
  private handles = new Map<string, Promise<FileHandle>>();
  readonly readBuffers = [alignedBuffer(CHUNK_BYTES), alignedBuffer(CHUNK_BYTES)] as const;
  private scratch?: { f32: Float32Array; out: Uint8Array };
  private zeros?: Uint8Array;
  private floatSlots: Float32Array[] = [];
  private byteSlots: Uint8Array[] = [];

  handle(file: string): Promise<FileHandle> {
    let h = this.handles.get(file);
    if (!h) {
      h = open(file, "r");
      this.handles.set(file, h);
      h.catch(() => this.handles.delete(file)); // a failed open is retried, not cached
    }
    return h;
  }

  conversionScratch(): { f32: Float32Array; out: Uint8Array } {
    // A chunk of 2-byte input is CHUNK/2 elements: f32 needs 2×CHUNK bytes, as does F32 output.
    return (this.scratch ??= { f32: new Float32Array(CHUNK_BYTES / 2), out: alignedBuffer(CHUNK_BYTES * 2) });
  }

  /**
   * A reusable float32 buffer of at least n elements for slot i (one slot per merge input). Fresh
   * memory costs a page fault per 4 KiB on first touch, which on a VM dominates a simple merge;
   * reusing the buffers across tensors pays that once.
   */
  floats(slot: number, n: number): Float32Array {
    let buf = this.floatSlots[slot];
    if (!buf || buf.length < n) {
      buf = new Float32Array(n);
      this.floatSlots[slot] = buf;
    }
    return buf.subarray(0, n);
  }

  /** A reusable byte buffer of at least n bytes for slot i (raw input before decoding). */
  byteSlot(slot: number, n: number): Uint8Array {
    let buf = this.byteSlots[slot];
    if (!buf || buf.byteLength < n) {
      buf = alignedBuffer(n);
      this.byteSlots[slot] = buf;
    }
    return buf.subarray(0, n);
  }

  zeroChunk(): Uint8Array {
    return (this.zeros ??= alignedBuffer(CHUNK_BYTES));
  }

  async close(): Promise<void> {
    const opened = await Promise.allSettled(this.handles.values());
    await Promise.all(opened.map((r) => (r.status === "fulfilled" ? r.value.close() : undefined)));
    this.handles.clear();
  }
}

async function readFully(fh: FileHandle, buf: Uint8Array, length: number, position: number, file: string) {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0)
      throw new CheckpointError(file, `ended early at byte ${position + done}: file truncated?`);
    done += bytesRead;
  }
  return buf.subarray(0, length);
}

/** A span of bytes in a file: a safetensors entry or a GGUF tensor. */
export interface ByteRange {
  file: string;
  begin: number;
  end: number;
}

/**
 * Streams [begin, end) of a file through `each`, reading the next chunk while the current one is
 * being handled, so reading and writing overlap.
 */
export async function pipeRange(
  io: StreamContext,
  entry: ByteRange,
  chunkBytes: number,
  each: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const fh = await io.handle(entry.file);
  let pos = entry.begin;
  let which = 0;
  const next = () => {
    const len = Math.min(chunkBytes, entry.end - pos);
    const p = readFully(fh, io.readBuffers[which]!, len, pos, entry.file);
    pos += len;
    which ^= 1;
    return p;
  };
  let pending = pos < entry.end ? next() : undefined;
  while (pending) {
    const chunk = await pending;
    pending = pos < entry.end ? next() : undefined;
    await each(chunk);
  }
}

/** Options for taking a tensor from an input: an output dtype and a scale factor. */
export interface CopyOptions {
  dtype?: DType;
  scale?: number;
}

/** The tensor `entry` under the name `name`, copied byte for byte unless a dtype change or a scale asks for math. */
const isFloat = (d: DType) => CONVERTIBLE.includes(d);

/** The dtype a tensor is written in: the requested one for float tensors, its own for the rest. */
function outputDtype(entry: TensorEntry, requested?: DType): DType {
  return requested && isFloat(entry.dtype) ? requested : entry.dtype;
}

export function tensorFrom(name: string, entry: TensorEntry, opts: CopyOptions = {}): OutputTensor {
  const dtype = outputDtype(entry, opts.dtype);
  const scale = opts.scale ?? 1;
  if (scale !== 1 && !isFloat(entry.dtype)) {
    throw new CheckpointError(entry.file, `tensor ${entry.name}: cannot scale a ${entry.dtype} tensor`);
  }
  // Scale 0 (mergekit recipes use it to silence a block) is zeros, with no read and no -0.
  if (scale === 0) return zerosLike(name, entry, dtype);
  const count = (entry.end - entry.begin) / DTYPE_BYTES[entry.dtype];
  const byteLength = count * DTYPE_BYTES[dtype];
  const verbatim = dtype === entry.dtype && scale === 1;
  return {
    name,
    dtype,
    shape: entry.shape,
    byteLength,
    async write(sink, io) {
      if (verbatim) return pipeRange(io, entry, CHUNK_BYTES, (c) => sink.write(c));
      const { f32, out } = io.conversionScratch();
      const inSize = DTYPE_BYTES[entry.dtype];
      // Input chunks of at most f32.length elements fit the scratch buffers.
      const chunkBytes = Math.min(CHUNK_BYTES, f32.length * inSize);
      await pipeRange(io, entry, chunkBytes, async (c) => {
        const n = c.byteLength / inSize;
        const vals = f32.subarray(0, n);
        decodeFloats(entry.dtype, c, vals);
        if (scale !== 1) for (let i = 0; i < n; i++) vals[i]! *= scale;
        const bytes = out.subarray(0, n * DTYPE_BYTES[dtype]);
        encodeFloats(dtype, vals, bytes);
        await sink.write(bytes);
      });
    },
  };
}

/** Writes `byteLength` zero bytes, a reused chunk at a time. */
export async function writeZeros(sink: ByteSink, io: StreamContext, byteLength: number): Promise<void> {
  const zeros = io.zeroChunk();
  for (let left = byteLength; left > 0; left -= zeros.byteLength) {
    await sink.write(zeros.subarray(0, Math.min(left, zeros.byteLength)));
  }
}

/** A tensor of zeros shaped like `entry` (block expansion's identity blocks). */
export function zerosLike(name: string, entry: TensorEntry, requested?: DType): OutputTensor {
  const dtype = outputDtype(entry, requested);
  const byteLength = ((entry.end - entry.begin) / DTYPE_BYTES[entry.dtype]) * DTYPE_BYTES[dtype];
  return {
    name,
    dtype,
    shape: entry.shape,
    byteLength,
    write: (sink, io) => writeZeros(sink, io, byteLength),
  };
}

/** A whole float tensor as a new float32 array the caller keeps (weights, optimizer moments). */
export async function readTensorCopy(io: StreamContext, entry: TensorEntry): Promise<Float32Array> {
  const fh = await io.handle(entry.file);
  const bytes = alignedBuffer(entry.end - entry.begin);
  await readFully(fh, bytes, bytes.byteLength, entry.begin, entry.file);
  if (entry.dtype === "F32") return new Float32Array(bytes.buffer);
  const out = new Float32Array(bytes.byteLength / DTYPE_BYTES[entry.dtype]);
  decodeFloats(entry.dtype, bytes, out);
  return out;
}

/**
 * A whole float tensor as float32 (merging needs every element of every input at once), streamed
 * chunk by chunk into the reusable buffer of `slot`: valid until the slot is read into again.
 */
export async function readTensorFloats(
  io: StreamContext,
  entry: TensorEntry,
  slot: number,
): Promise<Float32Array> {
  const size = DTYPE_BYTES[entry.dtype];
  const out = io.floats(slot, (entry.end - entry.begin) / size);
  let at = 0;
  await pipeRange(io, entry, CHUNK_BYTES, async (c) => {
    const n = c.byteLength / size;
    decodeFloats(entry.dtype, c, out.subarray(at, at + n));
    at += n;
  });
  return out;
}

/** An output tensor whose float32 values are computed when it is written, then encoded in chunks. */
export function computedTensor(
  name: string,
  dtype: DType,
  shape: number[],
  compute: (io: StreamContext) => Promise<Float32Array>,
): OutputTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return {
    name,
    dtype,
    shape,
    byteLength: count * DTYPE_BYTES[dtype],
    async write(sink, io) {
      const values = await compute(io);
      if (values.length !== count)
        throw new Error(`internal: ${name} computed ${values.length} values, expected ${count}`);
      const { out } = io.conversionScratch();
      const per = out.byteLength / DTYPE_BYTES[dtype];
      for (let i = 0; i < count; i += per) {
        const chunk = values.subarray(i, Math.min(i + per, count));
        const bytes = out.subarray(0, chunk.length * DTYPE_BYTES[dtype]);
        encodeFloats(dtype, chunk, bytes);
        await sink.write(bytes);
      }
    },
  };
}

/** Elements per chunk when an elementwise computation streams a tensor (4 MiB of float32). */
export const ELEMENT_CHUNK = 1 << 20;

/** Reads the raw bytes of elements [start, start + count) of a tensor into the byte buffer of `slot`. */
export async function readByteRange(
  io: StreamContext,
  entry: TensorEntry,
  start: number,
  count: number,
  slot: number,
): Promise<Uint8Array> {
  const size = DTYPE_BYTES[entry.dtype];
  const fh = await io.handle(entry.file);
  const bytes = io.byteSlot(slot, count * size);
  return readFully(fh, bytes, count * size, entry.begin + start * size, entry.file);
}

/** Reads elements [start, start + count) of a float tensor into the float buffer of `slot`. */
export async function readFloatRange(
  io: StreamContext,
  entry: TensorEntry,
  start: number,
  count: number,
  slot: number,
): Promise<Float32Array> {
  const bytes = await readByteRange(io, entry, start, count, slot);
  const out = io.floats(slot, count);
  decodeFloats(entry.dtype, bytes, out);
  return out;
}

/**
 * An output tensor computed chunk by chunk: `compute(start, count)` gives elements [start, start +
 * count) as float32, and each chunk is encoded and written before the next is computed.
 */
export function chunkedTensor(
  name: string,
  dtype: DType,
  shape: number[],
  compute: (io: StreamContext, start: number, count: number) => Promise<Float32Array>,
): OutputTensor {
  const total = shape.reduce((a, b) => a * b, 1);
  return {
    name,
    dtype,
    shape,
    byteLength: total * DTYPE_BYTES[dtype],
    async write(sink, io) {
      const { out } = io.conversionScratch();
      for (let s = 0; s < total; s += ELEMENT_CHUNK) {
        const n = Math.min(ELEMENT_CHUNK, total - s);
        const values = await compute(io, s, n);
        const bytes = out.subarray(0, n * DTYPE_BYTES[dtype]);
        encodeFloats(dtype, values, bytes);
        await sink.write(bytes);
      }
    },
  };
}
