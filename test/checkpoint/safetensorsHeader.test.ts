import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeSafetensorsHeader, readSafetensorsHeader } from "../../src/checkpoint/safetensorsHeader.js";
import { CheckpointError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";

const dir = tempDir();
let k = 0;

/** A safetensors file with the given header object (or raw header text or bytes) and `dataBytes` bytes of data. */
function file(header: unknown, dataBytes: number): string {
  const json = Buffer.isBuffer(header)
    ? header
    : Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
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
  // One flipped high bit in a name (found by the fuzz suite): not UTF-8, as the reference refuses it.
  await rejects(
    file(
      Buffer.concat([Buffer.from('{"__metadata__":{"f'), Buffer.from([0xef]), Buffer.from('rmat":"pt"}}')]),
      0,
    ),
    /header is not valid UTF-8$/,
  );
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

// Issue 15: the tensors must tile the data section exactly, as the reference implementation checks.
const w16 = (begin: number) => ({ dtype: "F32", shape: [4], data_offsets: [begin, begin + 16] });

test("tensors must cover the data section exactly: no gap, no bytes before the first or after the last", async () => {
  await rejects(
    file({ a: w16(0), b: w16(24) }, 40),
    /no tensor covers the 8 bytes of the data section between tensor a and tensor b/,
  );
  await rejects(
    file({ a: w16(8) }, 24),
    /no tensor covers the first 8 bytes of the data section \(tensor a starts at 8\)/,
  );
  await rejects(
    file({ a: w16(0) }, 20),
    /no tensor covers the last 4 bytes of the data section \(the tensors cover 16 of 20\)/,
  );
  await rejects(file({}, 4), /no tensor covers the last 4 bytes of the data section/);
  // Empty tensors take no bytes and may sit anywhere in the sequence.
  const ok = await readSafetensorsHeader(
    file({ a: w16(0), e: { dtype: "BF16", shape: [0, 3], data_offsets: [16, 16] }, b: w16(16) }, 32),
  );
  assert.deepEqual([...ok.tensors.keys()], ["a", "e", "b"]);
});

test("the fuzzer's corruptions: a header length one short, a shape that became empty, a tensor deleted", async () => {
  const entries = [
    { name: "a", dtype: "F32" as const, shape: [4], begin: 0, end: 16 },
    { name: "b", dtype: "F32" as const, shape: [4], begin: 16, end: 32 },
  ];
  // One short: the header's last padding byte becomes the first data byte, every tensor a byte off.
  const good = encodeSafetensorsHeader(entries, { format: "pt" });
  const json = Buffer.concat([good.subarray(8), Buffer.from(" ")]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length - 1));
  const oneShort = join(dir, "one-short.safetensors");
  writeFileSync(oneShort, Buffer.concat([len, json, Buffer.alloc(32)]));
  await rejects(oneShort, /no tensor covers the last 1 byte of the data section/);
  // A shape edited to [0] with its span: b's 16 bytes are read by nothing.
  await rejects(
    file({ a: w16(0), b: { dtype: "F32", shape: [0], data_offsets: [16, 16] } }, 32),
    /no tensor covers the last 16 bytes of the data section/,
  );
  // A tensor deleted from the header: the output would silently lack it.
  await rejects(file({ b: w16(16) }, 32), /no tensor covers the first 16 bytes of the data section/);
});

test("a tensor named twice is refused, though JSON.parse keeps only the last entry", async () => {
  const entry = JSON.stringify(w16(0));
  await rejects(file(`{"w":${entry},"w":${entry}}`, 16), /header repeats the key "w" at character \d+/);
  // The same name spelt with an escape is the same key.
  await rejects(
    file(`{"w":${entry},"\\u0077":${JSON.stringify(w16(16))}}`, 32),
    /header repeats the key "w"/,
  );
  // Keys of different entries may repeat each other's fields; strings that look like keys are not keys.
  const h = await readSafetensorsHeader(
    file(`{"__metadata__":{"a":"\\"w\\":"},"w":${entry},"v":${JSON.stringify(w16(16))}}`, 32),
  );
  assert.deepEqual([...h.tensors.keys()], ["w", "v"]);
});

test("__metadata__ must hold strings only", async () => {
  await rejects(file({ __metadata__: { format: 1 } }, 0), /__metadata__ is not an object of strings/);
});

test("deep nesting is refused while parsing, and a message never carries a whole value", async () => {
  // A shape nested 100,000 deep: JSON.parse builds it, and the message's JSON.stringify overflowed the stack.
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  await rejects(
    file(`{"w":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`, 0),
    /header nests deeper than 3 levels at character 29$/,
  );
  // 30 million levels (2.99 GB before rejection) stop at the fourth bracket.
  const p = join(dir, "deep.safetensors");
  const n = 30_000_000;
  const body = Buffer.alloc(n + 1, "[");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(body.length));
  writeFileSync(p, Buffer.concat([len, body]));
  await rejects(p, /header nests deeper than 3 levels at character 3$/);
  // A shape of 100,000 axes and a 100 KB dtype: the message shows the start of each.
  const long = file({ w: { dtype: "X".repeat(100_000), shape: [1], data_offsets: [0, 4] } }, 4);
  await assert.rejects(readSafetensorsHeader(long), (e: Error) => e.message.length < long.length + 200);
  const wide = file({ w: { dtype: "F32", shape: new Array(100_000).fill(-1), data_offsets: [0, 4] } }, 4);
  await assert.rejects(readSafetensorsHeader(wide), (e: Error) => {
    assert.match(e.message, /tensor w: invalid shape \[-1,-1,.*…$/);
    return e.message.length < wide.length + 200;
  });
  const name = "n".repeat(5000);
  await rejects(
    file({ [name]: w16(0) }, 16),
    /tensor name "n+… has 5000 characters, over the 1024-character limit/,
  );
});

test('a tensor named "__proto__" is written and read as a name like any other', async () => {
  const hdr = encodeSafetensorsHeader(
    [
      { name: "__proto__", dtype: "F32", shape: [2], begin: 0, end: 8 },
      { name: "b", dtype: "F32", shape: [1], begin: 8, end: 12 },
    ],
    {},
  );
  assert.match(hdr.toString("utf8", 8), /"__proto__":\{"dtype":"F32"/);
  const p = join(dir, "proto.safetensors");
  writeFileSync(p, Buffer.concat([hdr, Buffer.alloc(12)]));
  const h = await readSafetensorsHeader(p);
  assert.deepEqual([...h.tensors.keys()].sort(), ["__proto__", "b"]);
});
