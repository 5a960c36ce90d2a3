import { open } from "node:fs/promises";
import { GGUFValueType, serializeGgufMetadata, type GGUFTypedMetadata } from "@huggingface/gguf";
import { DeepenError } from "../../errors.js";
import { type ByteSink, StreamContext } from "../tensorStream.js";
import { FileSink } from "../writeShards.js";
import { ggmlByteLength, type GgmlType } from "./ggmlTypes.js";
import { ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_VERSION, MAX_GGUF_STRING_BYTES } from "./ggufFormat.js";
import { ggufU32, type GgufMetadata } from "./ggufMetadata.js";

/** A tensor of a GGUF output: its info record and how to produce its bytes. */
export interface GgufOutputTensor {
  name: string;
  type: GgmlType;
  /** ggml order, innermost first. */
  dims: number[];
  byteLength: number;
  write(sink: ByteSink, io: StreamContext): Promise<void>;
}

const pad = (n: number, a: number) => Math.ceil(n / a) * a;

/** The little-endian tensor info records: name, n_dims, dims (u64 each), type, offset (u64). */
function tensorInfos(tensors: readonly GgufOutputTensor[], offsets: number[]): Buffer {
  const parts: Buffer[] = [];
  tensors.forEach((t, i) => {
    const name = Buffer.from(t.name, "utf8");
    const b = Buffer.alloc(8 + name.length + 4 + 8 * t.dims.length + 4 + 8);
    let o = b.writeBigUInt64LE(BigInt(name.length), 0);
    o += name.copy(b, o);
    o = b.writeUInt32LE(t.dims.length, o);
    for (const d of t.dims) o = b.writeBigUInt64LE(BigInt(d), o);
    o = b.writeUInt32LE(t.type.id, o);
    b.writeBigUInt64LE(BigInt(offsets[i]!), o);
    parts.push(b);
  });
  return Buffer.concat(parts);
}

/** Refuses metadata the serializer would write wrongly, naming the key. */
function checkMetadata(meta: GgufMetadata): void {
  for (const [key, v] of meta) {
    if (v.type === GGUFValueType.ARRAY && (v.subType === undefined || v.subType === GGUFValueType.ARRAY)) {
      throw new DeepenError(
        `GGUF metadata ${key}: arrays of arrays cannot be written (no model deepen knows uses one)`,
      );
    }
    const strings =
      v.type === GGUFValueType.STRING
        ? [v.value]
        : v.subType === GGUFValueType.STRING
          ? (v.value as unknown[])
          : [];
    for (const s of strings) {
      if (typeof s !== "string")
        throw new DeepenError(`GGUF metadata ${key}: expected a string, got ${typeof s}`);
      if (Buffer.byteLength(s) > MAX_GGUF_STRING_BYTES)
        throw new DeepenError(`GGUF metadata ${key}: a string longer than ${MAX_GGUF_STRING_BYTES} bytes`);
    }
  }
}

export interface WriteGgufOptions {
  alignment?: number;
  onBytes?: (n: number) => void;
}

/**
 * Writes a GGUF v3 file front to back: header and metadata (serialized by @huggingface/gguf),
 * tensor infos, then each tensor's bytes at its aligned offset, streamed. Returns the bytes written.
 * The caller makes it atomic (writes a temporary name and renames).
 */
export async function writeGguf(
  file: string,
  metadata: GgufMetadata,
  tensors: readonly GgufOutputTensor[],
  opts: WriteGgufOptions = {},
): Promise<number> {
  const alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const meta = new Map(metadata);
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) meta.set(ALIGNMENT_KEY, ggufU32(alignment));
  else meta.delete(ALIGNMENT_KEY);
  checkMetadata(meta);
  const offsets: number[] = [];
  let dataBytes = 0;
  for (const t of tensors) {
    const expected = ggmlByteLength(t.type, t.dims);
    if (expected !== t.byteLength) {
      throw new Error(
        `internal: tensor ${t.name} (${t.type.name} [${t.dims.join(", ")}]) has ${t.byteLength} bytes, expected ${String(expected)}`,
      );
    }
    dataBytes = pad(dataBytes, alignment);
    offsets.push(dataBytes);
    dataBytes += t.byteLength;
  }
  const typed = {
    version: { value: GGUF_VERSION, type: GGUFValueType.UINT32 },
    tensor_count: { value: BigInt(tensors.length), type: GGUFValueType.UINT64 },
    kv_count: { value: BigInt(meta.size), type: GGUFValueType.UINT64 },
    ...Object.fromEntries(meta),
  } as unknown as GGUFTypedMetadata;
  // Alignment 1: no padding after the metadata; the padding goes after the tensor infos.
  const head = serializeGgufMetadata(typed, { alignment: 1 });
  const infos = tensorInfos(tensors, offsets);
  const dataStart = pad(head.byteLength + infos.byteLength, alignment);
  const zeros = new Uint8Array(alignment);
  const fh = await open(file, "wx");
  const io = new StreamContext();
  try {
    const sink = new FileSink(fh, opts.onBytes ?? (() => {}));
    await sink.write(head);
    await sink.write(infos);
    await sink.write(zeros.subarray(0, dataStart - head.byteLength - infos.byteLength));
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const at = dataStart + offsets[i]!;
      await sink.write(zeros.subarray(0, at - sink.position));
      await t.write(sink, io);
      if (sink.position - at !== t.byteLength) {
        throw new Error(
          `internal: tensor ${t.name} produced ${sink.position - at} bytes, expected ${t.byteLength}`,
        );
      }
    }
    return sink.position;
  } finally {
    await io.close();
    await fh.close();
  }
}
