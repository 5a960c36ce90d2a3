import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeFloats, encodeFloats } from "../../src/checkpoint/dtype.js";
import { NonFiniteError } from "../../src/errors.js";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { editTensors, fixture, modelTensors, runCli, tempDir } from "../helpers.js";

// Merges whose values leave the dtype's range (weights of 1e308) or read an input holding Inf/NaN:
// stopped while streaming, one line naming the tensor, nothing left at the output, unless
// --allow-nonfinite.

const root = tempDir();
const a = await fixture(root, { family: "llama", layers: 2, seed: 1 });
const b = await fixture(root, { family: "llama", layers: 2, seed: 2 });
const a32 = await fixture(root, { family: "llama", layers: 2, seed: 3, dtype: "F32" });
const b32 = await fixture(root, { family: "llama", layers: 2, seed: 4, dtype: "F32" });
const POISONED = "model.layers.1.self_attn.o_proj.weight";
/** Element 37 of POISONED is Inf in this copy of b32 (past the first chunks of a small-chunk merge). */
const inf32 = await fixture(root, { family: "llama", layers: 2, seed: 4, dtype: "F32" });
await editTensors(inf32, (ts) =>
  ts.map((t) => {
    if (t.name !== POISONED) return t;
    const v = new Float32Array(t.bytes.length / 4);
    decodeFloats("F32", t.bytes, v);
    v[37] = Infinity;
    const bytes = Buffer.alloc(t.bytes.length);
    encodeFloats("F32", v, bytes);
    return { ...t, bytes };
  }),
);

let n = 0;
const config = (yaml: string) => {
  const p = join(root, `merge-${n++}.yml`);
  writeFileSync(p, yaml);
  return p;
};
const out = () => join(root, `out-${n++}`);
const linear = (m1: string, m2: string, w: number, extra = "") =>
  config(
    `models:\n  - model: ${m1}\n    parameters:\n      weight: ${w}\n  - model: ${m2}\n    parameters:\n      weight: ${w}\n` +
      `merge_method: linear\nparameters:\n  normalize: false\n${extra}`,
  );

function folderHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest("hex");
}
/** No output, and no temporary folder beside it. */
function nothingLeft(o: string) {
  assert.equal(existsSync(o), false, "no output");
  assert.deepEqual(
    readdirSync(root).filter((f) => f.includes(".deepen-")),
    [],
    "no temporary folder left",
  );
}

test("a merge that overflows stops with one line naming the tensor: SIMD kernels, JavaScript loops, BF16 and F32", () => {
  const inputs = [a, b, a32, b32].map(folderHash);
  for (const [m1, m2, dtype] of [
    [a, b, "BF16"],
    [a32, b32, "F32"],
  ] as const) {
    const cfg = linear(m1, m2, 1e308);
    for (const kernels of ["1", "0"]) {
      const o = out();
      const r = runCli(["merge", cfg, "-o", o], { DEEPEN_MERGE_KERNELS: kernels });
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^deepen: tensor model\\.embed_tokens\\.weight would hold -?Infinity at element 0 \\(${dtype}\\): ` +
            "the linear merge leaves the dtype's range or an input holds Inf or NaN; nothing written " +
            "\\(--allow-nonfinite writes it anyway\\)\n$",
        ),
      );
      nothingLeft(o);
    }
  }
  assert.deepEqual([a, b, a32, b32].map(folderHash), inputs, "inputs unchanged");
});

test("an input holding Inf is named at its element, across chunk edges, and in whole-tensor methods", async () => {
  // Streamed in chunks of 16 elements: the element index counts across them.
  const cfg = linear(a32, inf32, 0.5);
  await assert.rejects(mergeModels(cfg, { out: out(), chunkElements: 16 }), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError, String(e));
    assert.equal(e.tensor, POISONED);
    assert.equal(e.element, 37);
    assert.equal(e.value, Infinity);
    return true;
  });
  // slerp takes whole tensors (norms, angles): the Inf spoils its tensor, which is refused.
  const slerp = config(
    `models:\n  - model: ${a32}\n  - model: ${inf32}\nbase_model: ${a32}\nmerge_method: slerp\nparameters:\n  t: 0.5\n`,
  );
  const o = out();
  const r = runCli(["merge", slerp, "-o", o]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`^deepen: tensor ${POISONED.replace(/\./g, "\\.")} would hold .* \\(F32\\)`),
  );
  assert.equal(r.stderr.split("\n").length, 2, "one line");
  nothingLeft(o);
});

test("--allow-nonfinite writes the merge as computed", async () => {
  const o = out();
  const r = runCli(["merge", linear(a32, inf32, 0.5), "-o", o, "--allow-nonfinite"]);
  assert.equal(r.code, 0, r.stderr);
  const t = (await modelTensors(o)).get(POISONED)!;
  const v = new Float32Array(t.bytes.length / 4);
  decodeFloats("F32", t.bytes, v);
  assert.equal(v[37], Infinity);
  assert.ok(Number.isFinite(v[36]!) && Number.isFinite(v[38]!));
});

test("a passthrough merge whose scale overflows is refused the same way", () => {
  const cfg = config(
    `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 2]\n        parameters:\n          scale:\n` +
      `            - filter: o_proj\n              value: 1.0e+300\n            - value: 1\nmerge_method: passthrough\n`,
  );
  const o = out();
  const r = runCli(["merge", cfg, "-o", o]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^deepen: tensor model\.layers\.0\.self_attn\.o_proj\.weight would hold -?Infinity at element 0 \(BF16\): scaling or converting it leaves the dtype's range, or the input holds Inf or NaN; nothing written \(--allow-nonfinite writes it anyway\)\n$/,
  );
  nothingLeft(o);
  const allowed = runCli(["merge", cfg, "-o", o, "--allow-nonfinite"]);
  assert.equal(allowed.code, 0, allowed.stderr);
});
