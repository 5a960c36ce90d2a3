import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeFloats, encodeFloats } from "../../src/checkpoint/dtype.js";
import { editTensors, fixture, runCli, tempDir } from "../helpers.js";

// Up-scaling computes values when it scales a tensor or converts its dtype: a value past the new
// dtype's range (F32 1e5 is Inf in F16) is refused with one line naming the tensor, unless
// --allow-nonfinite. A byte-for-byte copy writes the input's own values.

const root = tempDir();
const TENSOR = "model.layers.2.mlp.up_proj.weight";
/** An F32 model whose TENSOR holds `value` at element 3. */
async function holding(value: number): Promise<string> {
  const dir = await fixture(root, { family: "llama", layers: 4, dtype: "F32" });
  await editTensors(dir, (ts) =>
    ts.map((t) => {
      if (t.name !== TENSOR) return t;
      const v = new Float32Array(t.bytes.length / 4);
      decodeFloats("F32", t.bytes, v);
      v[3] = value;
      const bytes = Buffer.alloc(t.bytes.length);
      encodeFloats("F32", v, bytes);
      return { ...t, bytes };
    }),
  );
  return dir;
}

function folderHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest("hex");
}

test("a conversion to F16 that overflows is refused naming the tensor and element; --allow-nonfinite writes it", async () => {
  const big = await holding(1e5);
  const before = folderHash(big);
  const out = join(root, "f16");
  const r = runCli(["upscale", big, "-o", out, "--dtype", "f16", "--drop", "1"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    `deepen: tensor ${TENSOR} would hold Infinity at element 3 (F16): scaling or converting it leaves the dtype's ` +
      "range, or the input holds Inf or NaN; nothing written (--allow-nonfinite writes it anyway)\n",
  );
  assert.equal(existsSync(out), false);
  assert.deepEqual(
    readdirSync(root).filter((f) => f.includes(".deepen-")),
    [],
  );
  assert.equal(folderHash(big), before, "the input is untouched");
  const allowed = runCli(["upscale", big, "-o", out, "--dtype", "f16", "--drop", "1", "--allow-nonfinite"]);
  assert.equal(allowed.code, 0, allowed.stderr);
  // The same model kept in F32 holds no Inf: nothing to refuse.
  const kept = runCli(["upscale", big, "-o", join(root, "f32"), "--drop", "1"]);
  assert.equal(kept.code, 0, kept.stderr);
});

test("a byte-for-byte copy writes the input's own values, NaN included", async () => {
  const nan = await holding(NaN);
  const r = runCli(["upscale", nan, "-o", join(root, "copy"), "--drop", "1"]);
  assert.equal(r.code, 0, r.stderr);
});
