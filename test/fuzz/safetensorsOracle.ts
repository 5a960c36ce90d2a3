// The fuzz suite's own reading of safetensors, independent of deepen's: the validity rules of the
// reference implementation (huggingface/safetensors, `Metadata::validate`), used to decide whether
// a corrupted file must be refused, and a reader for the files deepen writes.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { asU64, type JsonValue, parseStrictJson } from "./strictJson.js";

/** Element sizes in bytes of the dtypes the reference implementation names. */
export const REFERENCE_DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The reference implementation refuses headers over 100 MB. */
export const REFERENCE_MAX_HEADER = 100_000_000;

export interface OracleTensor {
  name: string;
  dtype: string;
  shape: bigint[];
  data: Buffer;
}

export type OracleResult = { ok: true; tensors: OracleTensor[] } | { ok: false; reason: string };

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * Whether `buf` is a valid safetensors file as the reference implementation checks it: the header
 * length within the file, the header UTF-8 JSON (an object; `__metadata__` a map of strings), every
 * entry a known dtype, a shape of integers and two integer offsets; spans sorted by offset tile the
 * data section exactly (contiguous from 0, no gap, no overlap, ending at the end of the file), each
 * span the byte size of its shape and dtype; and, as issue 15 asks beyond the reference, no
 * duplicate tensor names.
 */
export function validateSafetensors(buf: Buffer): OracleResult {
  const bad = (reason: string): OracleResult => ({ ok: false, reason });
  if (buf.length < 8) return bad("shorter than the 8-byte header length");
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(REFERENCE_MAX_HEADER)) return bad(`header length ${n} over the 100 MB limit`);
  if (8n + n > BigInt(buf.length)) return bad(`header length ${n} runs past the end of the file`);
  const headerEnd = 8 + Number(n);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(8, headerEnd));
  } catch {
    return bad("header is not UTF-8");
  }
  let root: JsonValue;
  try {
    root = parseStrictJson(text);
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  if (root.t !== "obj") return bad("header is not an object");
  const seen = new Set<string>();
  const spans: { name: string; dtype: string; shape: bigint[]; begin: bigint; end: bigint }[] = [];
  for (const [name, v] of root.entries) {
    if (seen.has(name)) return bad(`duplicate key ${name}`);
    seen.add(name);
    if (name === "__metadata__") {
      if (v.t !== "obj" || !v.entries.every(([, s]) => s.t === "str"))
        return bad("__metadata__ is not a map of strings");
      if (new Set(v.entries.map(([k]) => k)).size !== v.entries.length)
        return bad("duplicate key in __metadata__");
      continue;
    }
    if (v.t !== "obj") return bad(`${name}: entry is not an object`);
    const field = (k: string) => {
      const all = v.entries.filter(([key]) => key === k);
      return all.length === 1 ? all[0]![1] : undefined;
    };
    const dtype = field("dtype");
    const shape = field("shape");
    const offsets = field("data_offsets");
    if (!dtype || dtype.t !== "str" || !Object.hasOwn(REFERENCE_DTYPE_BYTES, dtype.v))
      return bad(`${name}: dtype`);
    if (!shape || shape.t !== "arr") return bad(`${name}: shape`);
    const dims = shape.items.map(asU64);
    if (dims.some((d) => d === undefined)) return bad(`${name}: shape element`);
    if (!offsets || offsets.t !== "arr" || offsets.items.length !== 2) return bad(`${name}: data_offsets`);
    const [begin, end] = offsets.items.map(asU64);
    if (begin === undefined || end === undefined) return bad(`${name}: data_offsets element`);
    spans.push({ name, dtype: dtype.v, shape: dims as bigint[], begin, end });
  }
  spans.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : a.end < b.end ? -1 : 1));
  let at = 0n;
  for (const s of spans) {
    if (s.begin !== at || s.end < s.begin) return bad(`${s.name}: span does not continue at ${at}`);
    at = s.end;
    let count = 1n;
    for (const d of s.shape) {
      count *= d;
      if (count > U64_MAX) return bad(`${s.name}: element count overflows`);
    }
    const bytes = count * BigInt(REFERENCE_DTYPE_BYTES[s.dtype]!);
    if (bytes > U64_MAX) return bad(`${s.name}: byte size overflows`);
    if (s.end - s.begin !== bytes) return bad(`${s.name}: span is not the shape's byte size`);
  }
  if (BigInt(headerEnd) + at !== BigInt(buf.length))
    return bad(`tensors cover ${at} bytes of a ${buf.length - headerEnd}-byte data section`);
  return {
    ok: true,
    tensors: spans.map((s) => ({
      name: s.name,
      dtype: s.dtype,
      shape: s.shape,
      data: buf.subarray(headerEnd + Number(s.begin), headerEnd + Number(s.end)),
    })),
  };
}

export const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** One line per tensor, `name dtype [shape] sha256`, sorted by name: what "the same tensors" compares. */
export function tensorDigest(tensors: readonly OracleTensor[]): string {
  return tensors
    .map((t) => `${t.name} ${t.dtype} [${t.shape.join(",")}] ${sha256(t.data)}`)
    .sort()
    .join("\n");
}

/** Reads every safetensors file of a model folder deepen wrote; throws naming the first invalid one. */
export function readOutputTensors(dir: string): OracleTensor[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".safetensors"));
  if (files.length === 0) throw new Error(`no .safetensors file in ${dir}`);
  const all: OracleTensor[] = [];
  for (const f of files.sort()) {
    const r = validateSafetensors(readFileSync(join(dir, f)));
    if (!r.ok) throw new Error(`${f} is not a valid safetensors file: ${r.reason}`);
    all.push(...r.tensors);
  }
  return all;
}

function decodeHalf(h: number): number {
  const e = (h >> 10) & 0x1f;
  if (e === 0x1f) return h & 0x3ff ? NaN : Infinity;
  return 0; // finite; the value itself is not needed
}

/** The first tensor holding a NaN or an infinity (float dtypes only), or undefined. */
export function firstNonFinite(tensors: readonly OracleTensor[]): string | undefined {
  for (const t of tensors) {
    const d = t.data;
    let bad = false;
    if (t.dtype === "F32") {
      for (let i = 0; i + 4 <= d.length && !bad; i += 4) bad = ((d.readUInt32LE(i) >>> 23) & 0xff) === 0xff;
    } else if (t.dtype === "F64") {
      for (let i = 0; i + 8 <= d.length && !bad; i += 8) bad = !Number.isFinite(d.readDoubleLE(i));
    } else if (t.dtype === "F16") {
      for (let i = 0; i + 2 <= d.length && !bad; i += 2)
        bad = !Number.isFinite(decodeHalf(d.readUInt16LE(i)));
    } else if (t.dtype === "BF16") {
      for (let i = 0; i + 2 <= d.length && !bad; i += 2) bad = ((d.readUInt16LE(i) >> 7) & 0xff) === 0xff;
    }
    if (bad) return t.name;
  }
  return undefined;
}

/** A safetensors file from a header's JSON text (padded with spaces to 8 bytes, as writers do) and data. */
export function assembleSafetensors(headerJson: string, data: Buffer, pad = true): Buffer {
  let h = Buffer.from(headerJson, "utf8");
  if (pad && h.length % 8) h = Buffer.concat([h, Buffer.alloc(8 - (h.length % 8), 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}
