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
  private handles = new Map<string, FileHandle>();
  readonly readBuffers = [alignedBuffer(CHUNK_BYTES), alignedBuffer(CHUNK_BYTES)] as const;
  private scratch?: { f32: Float32Array; out: Uint8Array };
  private zeros?: Uint8Array;

  async handle(file: string): Promise<FileHandle> {
    let h = this.handles.get(file);
    if (!h) {
      h = await open(file, "r");
      this.handles.set(file, h);
    }
    return h;
  }

  conversionScratch(): { f32: Float32Array; out: Uint8Array } {
    // A chunk of 2-byte input is CHUNK/2 elements: f32 needs 2×CHUNK bytes, as does F32 output.
    return (this.scratch ??= { f32: new Float32Array(CHUNK_BYTES / 2), out: alignedBuffer(CHUNK_BYTES * 2) });
  }

  zeroChunk(): Uint8Array {
    return (this.zeros ??= alignedBuffer(CHUNK_BYTES));
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.values()].map((h) => h.close()));
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

/**
 * Streams [begin, end) of a file through `each`, reading the next chunk while the current one is
 * being handled, so reading and writing overlap.
 */
async function pipeRange(
  io: StreamContext,
  entry: TensorEntry,
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

/** A tensor of zeros shaped like `entry` (block expansion's identity blocks). */
export function zerosLike(name: string, entry: TensorEntry, requested?: DType): OutputTensor {
  const dtype = outputDtype(entry, requested);
  const byteLength = ((entry.end - entry.begin) / DTYPE_BYTES[entry.dtype]) * DTYPE_BYTES[dtype];
  return {
    name,
    dtype,
    shape: entry.shape,
    byteLength,
    async write(sink, io) {
      const zeros = io.zeroChunk();
      for (let left = byteLength; left > 0; left -= zeros.byteLength) {
        await sink.write(zeros.subarray(0, Math.min(left, zeros.byteLength)));
      }
    },
  };
}
