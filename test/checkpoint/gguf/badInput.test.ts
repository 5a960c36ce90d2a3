import assert from "node:assert/strict";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ggmlTypeByName } from "../../../src/checkpoint/gguf/ggmlTypes.js";
import { ggufArray, ggufString } from "../../../src/checkpoint/gguf/ggufMetadata.js";
import { GGUFValueType } from "@huggingface/gguf";
import { readGguf } from "../../../src/checkpoint/gguf/readGguf.js";
import { writeGguf } from "../../../src/checkpoint/gguf/writeGguf.js";
import { CheckpointError } from "../../../src/errors.js";
import { tempDir } from "../../helpers.js";

const root = tempDir();
const good = join(root, "good.gguf");
const f32 = (name: string) => ({
  name,
  type: ggmlTypeByName("F32")!,
  dims: [8],
  byteLength: 32,
  write: async (sink: { write(b: Uint8Array): Promise<void> }) => sink.write(new Uint8Array(32).fill(1)),
});
await writeGguf(good, new Map([["general.architecture", ggufString("llama")]]), [
  f32("tensor_a.weight"),
  f32("tensor_b.weight"),
]);
const original = readFileSync(good);

/** Where tensor `name`'s info record puts its type id and its offset. */
function infoFields(name: string): { type: number; offset: number } {
  const key = Buffer.alloc(8 + name.length);
  key.writeBigUInt64LE(BigInt(name.length));
  key.write(name, 8, "latin1");
  const at = original.indexOf(key) + key.length;
  const nDims = original.readUInt32LE(at);
  const type = at + 4 + 8 * nDims;
  return { type, offset: type + 4 };
}

let count = 0;
/** A copy of the good file changed by `edit`, under a name of its own. */
function variant(edit: (b: Buffer) => Buffer | void): string {
  const b = Buffer.from(original);
  const file = join(root, `bad-${count++}.gguf`);
  writeFileSync(file, edit(b) ?? b);
  return file;
}

async function refused(file: string, re: RegExp) {
  await assert.rejects(readGguf(file), (e: Error) => {
    assert.ok(e instanceof CheckpointError, `${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.equal(e.message.split("\n").length, 1, e.message);
    assert.match(e.message, re);
    return true;
  });
}

test("the unpatched file reads", async () => {
  assert.equal((await readGguf(good)).tensors.length, 2);
});

test("bad magic", async () => {
  await refused(
    variant((b) => void b.write("GGUX", 0, "latin1")),
    /not a GGUF file/,
  );
});

test("versions 1 and 99 are refused by number", async () => {
  await refused(
    variant((b) => void b.writeUInt32LE(1, 4)),
    /GGUF version 1 is not supported/,
  );
  await refused(
    variant((b) => void b.writeUInt32LE(99, 4)),
    /GGUF version 99 is not supported/,
  );
});

test("a header cut short", async () => {
  await refused(
    variant((b) => b.subarray(0, 40)),
    /truncated: the tensor data should start at byte \d+, past the end \(40 bytes\)/,
  );
  await refused(
    variant((b) => b.subarray(0, 6)),
    /truncated GGUF header: 6 bytes/,
  );
});

test("tensor data cut short: a tensor past the end", async () => {
  const file = variant(() => {});
  truncateSync(file, original.length - 4);
  await refused(file, /tensor tensor_b\.weight: data \[\d+, \d+\) runs past the end of the file/);
});

test("a tensor count past the limits", async () => {
  await refused(
    variant((b) => void b.writeBigUInt64LE(2n ** 40n, 8)),
    /Tensor count 1099511627776 exceeds maximum allowed/,
  );
});

test("a metadata count past the limits", async () => {
  await refused(
    variant((b) => void b.writeBigUInt64LE(2n ** 40n, 16)),
    /KV metadata count 1099511627776 exceeds maximum allowed/,
  );
});

test("an unknown tensor type id", async () => {
  await refused(
    variant((b) => void b.writeUInt32LE(99, infoFields("tensor_b.weight").type)),
    /tensor tensor_b\.weight: unknown tensor type 99/,
  );
});

test("overlapping tensors", async () => {
  await refused(
    variant((b) => void b.writeBigUInt64LE(0n, infoFields("tensor_b.weight").offset)),
    /tensors tensor_a\.weight and tensor_b\.weight overlap/,
  );
});

test("a misaligned tensor offset", async () => {
  await refused(
    variant((b) => void b.writeBigUInt64LE(36n, infoFields("tensor_b.weight").offset)),
    /tensor tensor_b\.weight: data offset 36 is not a multiple of the alignment 32/,
  );
});

test("a string length, an array length or a dimension past the limits is refused before it is allocated", async () => {
  // The string length of general.architecture's value: after the key and the value type.
  const key = Buffer.from("general.architecture", "latin1");
  const lenAt = original.indexOf(key) + key.length + 4;
  await refused(
    variant((b) => void b.writeBigUInt64LE(2n ** 40n, lenAt)),
    /string length .* exceeds|truncated/i,
  );
  // An array of 2^40 elements: a file whose only metadata value is an array.
  const arrays = join(root, "array.gguf");
  await writeGguf(
    arrays,
    new Map([
      ["general.architecture", ggufString("llama")],
      ["x.list", ggufArray(GGUFValueType.INT32, [1, 2, 3])],
    ]),
    [f32("t.weight")],
  );
  const raw = readFileSync(arrays);
  const listKey = Buffer.from("x.list", "latin1");
  const countAt = raw.indexOf(listKey) + listKey.length + 4 + 4; // value type, element type
  raw.writeBigUInt64LE(2n ** 40n, countAt);
  const bigArray = join(root, "array-big.gguf");
  writeFileSync(bigArray, raw);
  await refused(bigArray, /array length .* exceeds/i);
  // A tensor dimension of 2^40.
  const { type } = infoFields("tensor_a.weight");
  await refused(
    variant((b) => void b.writeBigUInt64LE(2n ** 40n, type - 8)),
    /dimension .* exceeds/i,
  );
});
