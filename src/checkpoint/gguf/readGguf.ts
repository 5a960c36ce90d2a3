import { open, stat } from "node:fs/promises";
import { gguf, GGUFValueType } from "@huggingface/gguf";
import { CheckpointError } from "../../errors.js";
import { ggmlByteLength, GGML_TYPES, type GgmlType } from "./ggmlTypes.js";
import {
  ALIGNMENT_KEY,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_READ_VERSIONS,
  MAX_GGUF_ALIGNMENT,
  MAX_GGUF_DIMS,
  MAX_GGUF_TENSORS,
} from "./ggufFormat.js";
import type { GgufMetadata, GgufValue } from "./ggufMetadata.js";

/** One tensor of a GGUF file: where its bytes are, and how ggml reads them. */
export interface GgufTensor {
  name: string;
  type: GgmlType;
  /** ggml order: innermost (contiguous) first, so a [out, in] matrix is [in, out]. */
  dims: number[];
  /** Absolute byte offsets in `file`, [begin, end). */
  begin: number;
  end: number;
  file: string;
}

export interface GgufFile {
  file: string;
  fileSize: number;
  version: number;
  alignment: number;
  /** Where the tensor data starts: tensor offsets in the file are relative to it. */
  dataStart: number;
  metadata: GgufMetadata;
  /** In the order of the file's tensor infos. */
  tensors: GgufTensor[];
}

/** Whether `file` starts with the GGUF magic (how `inspect` and `upscale` tell it from a folder). */
export async function looksLikeGguf(file: string): Promise<boolean> {
  try {
    const fh = await open(file, "r");
    try {
      const buf = Buffer.alloc(4);
      const { bytesRead } = await fh.read(buf, 0, 4, 0);
      return bytesRead === 4 && buf.equals(GGUF_MAGIC);
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

/** The version field (bytes 4-7, little-endian) of a file already known to start with the magic. */
async function headerVersion(file: string): Promise<{ le: number; be: number }> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(8);
    await fh.read(buf, 0, 8, 0);
    return { le: buf.readUInt32LE(4), be: buf.readUInt32BE(4) };
  } finally {
    await fh.close();
  }
}

/** The parser's own messages, put in terms of what is wrong with the file. */
function parseFailure(file: string, e: unknown): CheckpointError {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError || /Exceeded maximum chunk fetches|outside the bounds/.test(msg)) {
    return new CheckpointError(
      file,
      "truncated GGUF header: the file ends inside its metadata or tensor infos",
    );
  }
  if (/magic number/.test(msg))
    return new CheckpointError(file, "not a GGUF file (it does not start with GGUF)");
  return new CheckpointError(file, `not a valid GGUF file: ${msg}`);
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/**
 * Reads a GGUF file's header — metadata and tensor infos — through @huggingface/gguf, then checks
 * what a writer of tensor data needs to trust: every tensor's type is known, its bytes lie inside
 * the file at an aligned offset, and no two tensors share bytes. Tensor data is not read.
 */
export async function readGguf(file: string): Promise<GgufFile> {
  let fileSize: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new CheckpointError(file, "not a file");
    fileSize = s.size;
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(file, `cannot open: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (fileSize < 8) throw new CheckpointError(file, `truncated GGUF header: ${fileSize} bytes`);
  if (!(await looksLikeGguf(file)))
    throw new CheckpointError(file, "not a GGUF file (it does not start with GGUF)");
  // Checked before parsing: the parser reads version 1's 32-bit counts as 64-bit ones and fails on garbage.
  const declared = await headerVersion(file);
  if (!GGUF_READ_VERSIONS.includes(declared.le)) {
    if (GGUF_READ_VERSIONS.includes(declared.be))
      throw new CheckpointError(file, "big-endian GGUF files are not supported");
    throw new CheckpointError(
      file,
      `GGUF version ${declared.le} is not supported (deepen reads versions ${GGUF_READ_VERSIONS.join(" and ")})`,
    );
  }
  let parsed;
  try {
    parsed = await gguf(file, { allowLocalFile: true, typedMetadata: true });
  } catch (e) {
    throw parseFailure(file, e);
  }
  const version = declared.le;
  const metadata: GgufMetadata = new Map();
  for (const [key, entry] of Object.entries(parsed.typedMetadata)) {
    if (key === "version" || key === "tensor_count" || key === "kv_count") continue;
    metadata.set(key, entry as GgufValue);
  }
  const alignEntry = metadata.get(ALIGNMENT_KEY);
  const alignment = alignEntry ? Number(alignEntry.value) : GGUF_DEFAULT_ALIGNMENT;
  if (
    alignEntry &&
    (alignEntry.type !== GGUFValueType.UINT32 || !isPowerOfTwo(alignment) || alignment > MAX_GGUF_ALIGNMENT)
  ) {
    throw new CheckpointError(
      file,
      `${ALIGNMENT_KEY} is ${String(alignEntry.value)}: it must be a uint32 power of two up to ${MAX_GGUF_ALIGNMENT}`,
    );
  }
  const count = parsed.tensorInfos.length;
  if (count > MAX_GGUF_TENSORS) {
    throw new CheckpointError(
      file,
      `${count} tensors: more than the ${MAX_GGUF_TENSORS} any model has (corrupt header?)`,
    );
  }
  const dataStart = Number(parsed.tensorDataOffset);
  if (dataStart > fileSize) {
    throw new CheckpointError(
      file,
      `truncated: the tensor data should start at byte ${dataStart}, past the end (${fileSize} bytes)`,
    );
  }
  const tensors: GgufTensor[] = [];
  const names = new Set<string>();
  for (const info of parsed.tensorInfos) {
    const name = info.name;
    const bad = (why: string) => new CheckpointError(file, `tensor ${name}: ${why}`);
    if (names.has(name)) throw bad("appears twice");
    names.add(name);
    const type = GGML_TYPES.get(info.dtype);
    if (!type) throw bad(`unknown tensor type ${info.dtype}`);
    if (info.n_dims < 1 || info.n_dims > MAX_GGUF_DIMS)
      throw bad(`${info.n_dims} dimensions (ggml has 1 to ${MAX_GGUF_DIMS})`);
    const dims = info.shape.map(Number);
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 1)) throw bad(`bad dimensions [${dims.join(", ")}]`);
    const length = ggmlByteLength(type, dims);
    if (typeof length === "string") throw bad(length);
    const offset = Number(info.offset);
    if (!Number.isSafeInteger(offset) || offset % alignment !== 0) {
      throw bad(`data offset ${info.offset} is not a multiple of the alignment ${alignment}`);
    }
    const begin = dataStart + offset;
    const end = begin + length;
    if (end > fileSize) {
      throw bad(`data [${begin}, ${end}) runs past the end of the file (${fileSize} bytes): truncated?`);
    }
    tensors.push({ name, type, dims, begin, end, file });
  }
  const byOffset = [...tensors].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byOffset.length; i++) {
    const a = byOffset[i - 1]!;
    const b = byOffset[i]!;
    if (b.begin < a.end)
      throw new CheckpointError(file, `tensors ${a.name} and ${b.name} overlap in the file`);
  }
  return { file, fileSize, version, alignment, dataStart, metadata, tensors };
}
