import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeSafetensorsHeader, readSafetensorsHeader } from "../../src/checkpoint/safetensorsHeader.js";
import { CheckpointError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";

const dir = tempDir();
let k = 0;

/** A safetensors file with the given header object (or raw header text) and `dataBytes` bytes of data. */
function file(header: unknown, dataBytes: number): string {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const p = join(dir, `f${k++}.safetensors`);
  writeFileSync(p, Buffer.concat([len, json, Buffer.alloc(dataBytes, 7)]));
  return p;
}

async function rejects(p: string, pattern: RegExp) {
  await assert.rejects(readSafetensorsHeader(p), (e: Error) => {
    assert.ok(e instanceof CheckpointError, `${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(p), `message names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("reads tensors, shapes and absolute offsets of a valid file", async () => {
  const hdr = encodeSafetensorsHeader(
    [
      { name: "a", dtype: "F32", shape: [2, 3], begin: 0, end: 24 },
      { name: "b", dtype: "BF16", shape: [4], begin: 24, end: 32 },
    ],
    { format: "pt" },
  );
  assert.equal(hdr.length % 8, 0, "data section starts 8-byte aligned");
  const p = join(dir, "ok.safetensors");
  writeFileSync(p, Buffer.concat([hdr, Buffer.alloc(32)]));
  const h = await readSafetensorsHeader(p);
  assert.deepEqual(h.metadata, { format: "pt" });
  assert.deepEqual(h.tensors.get("a"), {
    name: "a",
    dtype: "F32",
    shape: [2, 3],
    begin: hdr.length,
    end: hdr.length + 24,
    file: p,
  });
  assert.equal(h.tensors.get("b")!.end, hdr.length + 32);
});

test("a file shorter than the length field is truncated", async () => {
  const p = join(dir, "short.safetensors");
  writeFileSync(p, Buffer.from([1, 2, 3]));
  await rejects(p, /truncated: 3 bytes/);
});

test("a header length too large to allocate is refused before reading", async () => {
  const p = join(dir, "huge.safetensors");
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(2n ** 62n);
  writeFileSync(p, b);
  await rejects(p, /exceeds the 100000000-byte limit/);
});

test("a header that claims more bytes than the file has is truncated", async () => {
  const p = join(dir, "claims.safetensors");
  const b = Buffer.alloc(20);
  b.writeBigUInt64LE(1000n);
  writeFileSync(p, b);
  await rejects(p, /header claims 1000 bytes but the file has 20/);
});

test("a header that is not JSON", async () => {
  await rejects(file("{not json", 0), /header is not valid JSON/);
  await rejects(file("[1,2]", 0), /header is not a JSON object/);
});

test("data_offsets past the end of the data", async () => {
  await rejects(
    file({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8),
    /tensor w: .*run past the end of the data \(8 bytes\)/,
  );
});

test("overlapping tensors", async () => {
  const h = {
    a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
    b: { dtype: "F32", shape: [4], data_offsets: [8, 24] },
  };
  await rejects(file(h, 24), /tensor b overlaps tensor a/);
});

test("a dtype and shape that disagree with the byte length", async () => {
  await rejects(
    file({ w: { dtype: "BF16", shape: [3, 3], data_offsets: [0, 16] } }, 16),
    /tensor w: BF16 \[3,3\] needs 18 bytes but data_offsets span 16/,
  );
});

test("unknown dtypes, bad shapes and bad offsets", async () => {
  await rejects(
    file({ w: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, 1),
    /tensor w: unknown dtype "Q4"/,
  );
  await rejects(file({ w: { dtype: "U8", shape: [-1], data_offsets: [0, 1] } }, 1), /invalid shape/);
  await rejects(file({ w: { dtype: "U8", shape: [1], data_offsets: [2, 1] } }, 2), /invalid data_offsets/);
});
