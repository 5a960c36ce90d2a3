import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { GGUFValueType } from "@huggingface/gguf";
import { GGML_TYPES, ggmlTypeByName } from "../../../src/checkpoint/gguf/ggmlTypes.js";
import {
  ggufArray,
  ggufBool,
  ggufString,
  type GgufMetadata,
  type GgufValue,
} from "../../../src/checkpoint/gguf/ggufMetadata.js";
import { readGguf } from "../../../src/checkpoint/gguf/readGguf.js";
import { type GgufOutputTensor, writeGguf } from "../../../src/checkpoint/gguf/writeGguf.js";
import { tempDir } from "../../helpers.js";

const V = GGUFValueType;

/** An output tensor holding the given bytes. */
export function bytesTensor(
  name: string,
  typeName: string,
  dims: number[],
  bytes: Uint8Array,
): GgufOutputTensor {
  const type = ggmlTypeByName(typeName)!;
  return {
    name,
    type,
    dims,
    byteLength: bytes.byteLength,
    async write(sink) {
      await sink.write(bytes);
    },
  };
}

const randomBytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 255);

test("a GGUF deepen writes reads back with every metadata value and tensor byte", async () => {
  const dir = tempDir();
  const meta: GgufMetadata = new Map<string, GgufValue>([
    ["general.architecture", ggufString("llama")],
    ["u8", { type: V.UINT8, value: 200 }],
    ["i8", { type: V.INT8, value: -100 }],
    ["u16", { type: V.UINT16, value: 60000 }],
    ["i16", { type: V.INT16, value: -30000 }],
    ["u32", { type: V.UINT32, value: 4_000_000_000 }],
    ["i32", { type: V.INT32, value: -2_000_000_000 }],
    ["f32", { type: V.FLOAT32, value: 0.5 }],
    ["bool", ggufBool(true)],
    ["u64", { type: V.UINT64, value: 2n ** 60n }],
    ["i64", { type: V.INT64, value: -(2n ** 60n) }],
    ["f64", { type: V.FLOAT64, value: Math.PI }],
    ["unicode", ggufString("Grüße, 世界 🙂")],
    ["strings", ggufArray(V.STRING, ["a", "", "ĠHello", "<|eos|>"])],
    ["ints", ggufArray(V.INT32, [1, -2, 3])],
    ["floats", ggufArray(V.FLOAT32, [0.25, -1.5])],
    ["bools", ggufArray(V.BOOL, [true, false])],
  ]);
  const tensors = [
    bytesTensor("a.weight", "F32", [3, 2], randomBytes(24, 1)),
    bytesTensor("b.weight", "Q8_0", [64, 2], randomBytes(4 * 34, 2)),
    bytesTensor("c.weight", "Q4_0", [32, 3], randomBytes(3 * 18, 3)),
    bytesTensor("d.weight", "Q4_K", [256], randomBytes(144, 4)),
    bytesTensor("e.weight", "F16", [5], randomBytes(10, 5)),
  ];
  const file = join(dir, "m.gguf");
  const bytes = await writeGguf(file, meta, tensors);
  const g = await readGguf(file);
  assert.equal(g.version, 3);
  assert.equal(g.alignment, 32);
  assert.equal(g.fileSize, bytes);
  assert.deepEqual([...g.metadata.keys()], [...meta.keys()]);
  for (const [k, v] of meta) assert.deepEqual(g.metadata.get(k), v, k);
  const raw = readFileSync(file);
  assert.deepEqual(
    g.tensors.map((t) => [t.name, t.type.name, t.dims]),
    tensors.map((t) => [t.name, t.type.name, t.dims]),
  );
  for (const [i, t] of g.tensors.entries()) {
    assert.equal(t.begin % 32, g.dataStart % 32);
    const want = randomBytes(tensors[i]!.byteLength, i + 1);
    assert.deepEqual(new Uint8Array(raw.subarray(t.begin, t.end)), want, t.name);
  }
});

test("an alignment other than 32 is recorded in general.alignment and honoured", async () => {
  const dir = tempDir();
  const file = join(dir, "a.gguf");
  await writeGguf(
    file,
    new Map([["general.architecture", ggufString("llama")]]),
    [bytesTensor("x", "F32", [3], randomBytes(12, 1)), bytesTensor("y", "F32", [1], randomBytes(4, 2))],
    { alignment: 64 },
  );
  const g = await readGguf(file);
  assert.equal(g.alignment, 64);
  assert.equal(g.metadata.get("general.alignment")?.value, 64);
  assert.equal((g.tensors[1]!.begin - g.dataStart) % 64, 0);
});

test("the type table knows every block layout llama.cpp's quantizations write", () => {
  for (const name of [
    "Q4_0",
    "Q4_1",
    "Q5_0",
    "Q5_1",
    "Q8_0",
    "Q2_K",
    "Q3_K",
    "Q4_K",
    "Q5_K",
    "Q6_K",
    "IQ2_XXS",
    "IQ2_XS",
    "IQ2_S",
    "IQ3_XXS",
    "IQ3_S",
    "IQ1_S",
    "IQ1_M",
    "IQ4_NL",
    "IQ4_XS",
    "TQ1_0",
    "TQ2_0",
    "MXFP4",
    "BF16",
  ]) {
    assert.ok(ggmlTypeByName(name), name);
  }
  // Bits per weight of the common quantizations, as llama.cpp's quantize tool reports them.
  const bpw = (n: string) => {
    const t = ggmlTypeByName(n)!;
    return (t.bytesPerBlock * 8) / t.blockSize;
  };
  assert.equal(bpw("Q4_0"), 4.5);
  assert.equal(bpw("Q8_0"), 8.5);
  assert.equal(bpw("Q4_K"), 4.5);
  assert.equal(bpw("Q6_K"), 6.5625);
  assert.equal(bpw("Q2_K"), 2.625);
  assert.ok(GGML_TYPES.size >= 30);
});
