import { open } from "node:fs/promises";
import { CheckpointError } from "../errors.js";
import { countOf } from "../formatCount.js";
import { DTYPE_BYTES, type DType, isDType } from "./dtype.js";
import { JsonTextError, parseJson } from "./parseJson.js";
import { previewJson } from "./previewJson.js";

// The safetensors layout: an 8-byte little-endian header length N, N bytes of JSON (padded with
// spaces to keep the data aligned), then the tensor bytes; offsets in the JSON are relative to the
// start of the data.
export const HEADER_LENGTH_BYTES = 8;
export const DATA_ALIGNMENT = 8;
/** The reference implementation refuses headers above 100 MB; even a 400B-parameter model's header is a few MB,
 * so a larger length is corruption, and must be refused before anything that size is allocated. */
export const MAX_HEADER_BYTES = 100_000_000;
/** No language-model tensor has more than a handful of axes; a deep shape is a corrupt header. */
export const MAX_RANK = 16;
/** The format's deepest value is a tensor's shape: the header object, the tensor's entry, the shape
 * array. Anything deeper is not safetensors, and is refused while parsing, before it is built. */
export const MAX_HEADER_DEPTH = 3;
/** Hugging Face tensor names run to about 100 characters; a name that could fill a message with
 * megabytes of header is corruption. */
export const MAX_TENSOR_NAME_CHARS = 1024;

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte offsets in `file`, [begin, end). */
  begin: number;
  end: number;
  file: string;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  dataStart: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reads and validates a safetensors header without touching the tensor data. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  let fh;
  try {
    fh = await open(file, "r");
  } catch (e) {
    throw new CheckpointError(file, `cannot open: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize < HEADER_LENGTH_BYTES) {
      throw new CheckpointError(file, `truncated: ${fileSize} bytes, shorter than the 8-byte header length`);
    }
    const lenBuf = Buffer.alloc(HEADER_LENGTH_BYTES);
    await fh.read(lenBuf, 0, HEADER_LENGTH_BYTES, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) {
      throw new CheckpointError(
        file,
        `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupt)`,
      );
    }
    const n = Number(headerLen);
    if (HEADER_LENGTH_BYTES + n > fileSize) {
      throw new CheckpointError(file, `truncated: header claims ${n} bytes but the file has ${fileSize}`);
    }
    const jsonBuf = Buffer.alloc(n);
    await fh.read(jsonBuf, 0, n, HEADER_LENGTH_BYTES);
    return parseHeaderJson(file, jsonBuf, fileSize, HEADER_LENGTH_BYTES + n);
  } finally {
    await fh.close();
  }
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function parseHeaderJson(
  file: string,
  jsonBuf: Buffer,
  fileSize: number,
  dataStart: number,
): SafetensorsHeader {
  let text: string;
  try {
    // As the reference implementation reads it: a byte that is not UTF-8 is an invalid header, not
    // a replacement character in a tensor's name.
    text = STRICT_UTF8.decode(jsonBuf);
  } catch {
    throw new CheckpointError(file, "header is not valid UTF-8");
  }
  let raw: unknown;
  try {
    // Duplicate names are refused as the reference implementation does: JSON.parse would keep the
    // last entry and silently drop the first tensor.
    raw = parseJson(text, { maxDepth: MAX_HEADER_DEPTH, refuseDuplicateKeys: true });
  } catch (e) {
    if (!(e instanceof JsonTextError)) throw e;
    throw new CheckpointError(
      file,
      e.syntax ? `header is not valid JSON (${e.message})` : `header ${e.message}`,
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(file, "header is not a JSON object");
  }
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (
        typeof value !== "object" ||
        value === null ||
        Array.isArray(value) ||
        !Object.values(value).every((v) => typeof v === "string")
      ) {
        throw new CheckpointError(file, "__metadata__ is not an object of strings");
      }
      metadata = value as Record<string, string>;
      continue;
    }
    if (name.length > MAX_TENSOR_NAME_CHARS)
      throw new CheckpointError(
        file,
        `tensor name ${previewJson(name)} has ${name.length} characters, over the ${MAX_TENSOR_NAME_CHARS}-character limit`,
      );
    tensors.set(name, parseEntry(file, name, value, dataStart, dataSize));
  }
  checkCoverage(file, [...tensors.values()], dataStart, dataSize);
  return { file, fileSize, dataStart, tensors, metadata };
}

/**
 * The tensors must tile the data section exactly, as the reference implementation requires: sorted
 * by offset, each starts where the previous ends, the first at 0 and the last at the end of the
 * file. A gap or trailing bytes mean the header does not describe the data: a header length off by
 * one (every tensor read a byte off), a tensor deleted from the header, a shape changed together
 * with its offsets. Each of these would otherwise be read as a valid model.
 */
function checkCoverage(file: string, entries: TensorEntry[], dataStart: number, dataSize: number): void {
  const sorted = entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0; // bytes of the data section the tensors so far cover, from its start
  let prev: TensorEntry | undefined;
  for (const cur of sorted) {
    const begin = cur.begin - dataStart;
    if (prev && begin < covered) {
      throw new CheckpointError(file, `tensor ${cur.name} overlaps tensor ${prev.name} in the data section`);
    }
    if (begin > covered) {
      throw new CheckpointError(
        file,
        prev
          ? `no tensor covers the ${countOf(begin - covered, "byte")} of the data section between tensor ${prev.name} and tensor ${cur.name}`
          : `no tensor covers the first ${countOf(begin, "byte")} of the data section (tensor ${cur.name} starts at ${begin})`,
      );
    }
    covered = cur.end - dataStart;
    prev = cur;
  }
  if (covered !== dataSize) {
    throw new CheckpointError(
      file,
      `no tensor covers the last ${countOf(dataSize - covered, "byte")} of the data section ` +
        `(the tensors cover ${covered} of ${dataSize}): a wrong header length, or a tensor missing from the header`,
    );
  }
}

function parseEntry(
  file: string,
  name: string,
  value: unknown,
  dataStart: number,
  dataSize: number,
): TensorEntry {
  const bad = (what: string) => new CheckpointError(file, `tensor ${name}: ${what}`);
  if (typeof value !== "object" || value === null) throw bad("entry is not an object");
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string" || !isDType(dtype)) throw bad(`unknown dtype ${previewJson(dtype)}`);
  if (
    !Array.isArray(shape) ||
    shape.length > MAX_RANK ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    throw bad(`invalid shape ${previewJson(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw bad(`invalid data_offsets ${previewJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataSize) {
    throw bad(
      `data_offsets [${begin}, ${end}] run past the end of the data (${dataSize} bytes): file truncated?`,
    );
  }
  const expected = numel(shape as number[]) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw bad(`${dtype} ${previewJson(shape)} needs ${expected} bytes but data_offsets span ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end, file };
}

/** Serialises a header: JSON padded with spaces so the data section starts 8-byte aligned. */
export function encodeSafetensorsHeader(
  entries: readonly { name: string; dtype: DType; shape: readonly number[]; begin: number; end: number }[],
  metadata: Record<string, string>,
): Buffer {
  // No prototype: a tensor named "__proto__" (JSON allows it, and the reader keeps it) must become a
  // key like any other, not replace the object's prototype and vanish from the header.
  const obj = Object.create(null) as Record<string, unknown>;
  obj.__metadata__ = metadata;
  for (const e of entries) obj[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
  let json = Buffer.from(JSON.stringify(obj), "utf8");
  const pad = (DATA_ALIGNMENT - ((HEADER_LENGTH_BYTES + json.length) % DATA_ALIGNMENT)) % DATA_ALIGNMENT;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(HEADER_LENGTH_BYTES + json.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, HEADER_LENGTH_BYTES);
  return out;
}
