// Streamed merges from disk, in chunks far smaller than the tensors, against the whole-tensor
// JavaScript methods run on the same decoded inputs: byte-identical outputs for every chunked method,
// with and without the SIMD kernels, for BF16, F16 and F32 checkpoints.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DTYPE_BYTES, type DType, decodeFloats, encodeFloats } from "../../src/checkpoint/dtype.js";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { METHODS } from "../../src/merge/methods/registry.js";
import { hashString, mulberry32 } from "../../src/random.js";
import { editTensors, fixture, modelTensors, tempDir } from "../helpers.js";

const root = tempDir();

const decode = (dtype: DType, bytes: Uint8Array) => {
  const v = new Float32Array(bytes.byteLength / DTYPE_BYTES[dtype]);
  decodeFloats(dtype, bytes, v);
  return v;
};

/**
 * Three models of one dtype whose values lie on a coarse grid, so that task vectors have many equal
 * magnitudes (ties at the rank thresholds, spread over many chunks) and many exact zeros.
 */
async function models(dtype: DType): Promise<string[]> {
  const dirs: string[] = [];
  const base = new Map<string, Float32Array>();
  for (let m = 0; m < 3; m++) {
    const dir = await fixture(root, { family: "llama", layers: 2, dtype, seed: 1 });
    const rnd = mulberry32(100 + m);
    await editTensors(dir, (tensors) =>
      tensors.map((t) => {
        const v = decode(dtype, t.bytes);
        for (let j = 0; j < v.length; j++) {
          // A quarter of the elements keep the base's value: zero task-vector elements.
          v[j] = m > 0 && rnd() < 0.25 ? base.get(t.name)![j]! : Math.round((rnd() - 0.5) * 32) / 64;
        }
        if (m === 0) base.set(t.name, v);
        const bytes = Buffer.alloc(t.bytes.length);
        encodeFloats(dtype, v, bytes);
        return { ...t, bytes };
      }),
    );
    dirs.push(dir);
  }
  return dirs;
}

const PARAMS: Record<string, string> = {
  linear: "",
  task_arithmetic: "",
  ties: "density: 0.4",
  dare_ties: "density: 0.5",
  dare_linear: "density: 0.6",
  breadcrumbs: "density: 0.5\n      gamma: 0.1",
  breadcrumbs_ties: "density: 0.6\n      gamma: 0.05",
  della: "density: 0.5\n      epsilon: 0.2",
  della_linear: "density: 0.4\n      epsilon: 0.1",
};

function config(method: string, [a, b, c]: string[], global: string): string {
  const file = join(root, `${method}-${hashString(global + a)}.yml`);
  const p = PARAMS[method]!;
  const extra = p ? `\n      ${p}` : "";
  writeFileSync(
    file,
    `models:
  - model: ${a}
    parameters:
      weight: 0.4${extra}
  - model: ${b}
    parameters:
      weight: 0.7${extra}
  - model: ${c}
    parameters:
      weight: -0.3${extra}
base_model: ${a}
merge_method: ${method}
${global ? `parameters:\n  ${global}\n` : ""}`,
  );
  return file;
}

/** The expected output: each tensor merged whole by the method's JavaScript, then encoded. */
async function expected(
  method: string,
  dirs: string[],
  dtype: DType,
  params: Record<string, number | boolean>,
  seed: number,
) {
  const inputs = await Promise.all(dirs.map((d) => modelTensors(d)));
  const out = new Map<string, Buffer>();
  for (const [name, t] of inputs[0]!) {
    const tensors = inputs.map((m) => decode(dtype, m.get(name)!.bytes));
    const p = PARAMS[method]!.split("\n").map((l) => l.trim().split(": "));
    const own = Object.fromEntries(p.filter((x) => x.length === 2).map(([k, v]) => [k!, Number(v)]));
    const merged = METHODS[method]!.merge({
      tensors,
      baseIndex: 0,
      modelParams: [
        { weight: 0.4, ...own },
        { weight: 0.7, ...own },
        { weight: -0.3, ...own },
      ],
      params,
      shape: t.entry.shape,
      random: mulberry32(seed ^ hashString(name)),
    });
    const bytes = Buffer.alloc(t.bytes.length);
    encodeFloats(dtype, merged, bytes);
    out.set(name, bytes);
  }
  return out;
}

for (const dtype of ["BF16", "F16", "F32"] as DType[]) {
  test(`streamed merges in small chunks equal whole-tensor merges, ${dtype}, with and without SIMD kernels`, async () => {
    const dirs = await models(dtype);
    // Every method on BF16; on F16 and F32 (other decode, encode and kernel choices) a few.
    const methods = dtype === "BF16" ? Object.keys(PARAMS) : ["linear", "task_arithmetic", "ties", "della"];
    for (const method of methods) {
      const variants: Record<string, number | boolean>[] = [{}];
      if (METHODS[method]!.globalParameters.some((s) => s.name === "rescale"))
        variants.push({ rescale: true });
      if (method === "ties") variants.push({ rescale: false, normalize: false, lambda: 0.5 });
      for (const params of variants) {
        const global = Object.entries(params)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n  ");
        const cfg = config(method, dirs, global);
        const want = await expected(method, dirs, dtype, params, 5);
        for (const kernels of ["1", "0"]) {
          process.env.DEEPEN_MERGE_KERNELS = kernels;
          const o = join(root, `out-${method}-${dtype}-${kernels}-${hashString(global)}`);
          // Chunks of 1000 elements: every weight matrix spans several (DELLA's: whole rows of 64).
          await mergeModels(cfg, { out: o, seed: 5, chunkElements: 1000 });
          delete process.env.DEEPEN_MERGE_KERNELS;
          for (const [name, t] of await modelTensors(o)) {
            assert.ok(
              t.bytes.equals(want.get(name)!),
              `${method} ${JSON.stringify(params)} ${dtype} kernels=${kernels}: ${name} differs from the whole-tensor merge`,
            );
          }
        }
      }
    }
  });
}

test("elementwise session: mixed input dtypes, slices of 2, 1 and 3 sources, a tensor written another way", async () => {
  const [a, b] = await models("BF16");
  const c32 = await models("F32").then((d) => d[2]!);
  // Slice 1 has only the base model: task arithmetic has no task vector to mix there, so its tensors
  // leave the SIMD session (chunked path) between tensors that use it, whose read-ahead must be dropped.
  const yaml = (method: string) => `slices:
  - sources:
      - model: ${a}
        layer_range: [0, 1]
      - model: ${b}
        layer_range: [0, 1]
        parameters:
          weight: 0.6
  - sources:
      - model: ${a}
        layer_range: [1, 2]
  - sources:
      - model: ${a}
        layer_range: [1, 2]
      - model: ${b}
        layer_range: [1, 2]
        parameters:
          weight: 0.5
      - model: ${c32}
        layer_range: [0, 1]
        parameters:
          weight: 0.25
base_model: ${a}
merge_method: ${method}
parameters:
  weight: 0.3
`;
  for (const method of ["linear", "task_arithmetic"]) {
    const cfg = join(root, `session-${method}.yml`);
    writeFileSync(cfg, yaml(method));
    const simd = join(root, `session-${method}-simd`);
    await mergeModels(cfg, { out: simd, chunkElements: 1000 });
    process.env.DEEPEN_MERGE_KERNELS = "0";
    const js = join(root, `session-${method}-js`);
    await mergeModels(cfg, { out: js, chunkElements: 1 << 30 });
    delete process.env.DEEPEN_MERGE_KERNELS;
    const want = await modelTensors(js);
    const got = await modelTensors(simd);
    assert.equal(got.size, want.size);
    for (const [name, t] of got) assert.ok(t.bytes.equals(want.get(name)!.bytes), `${method}: ${name}`);
  }
});

test("a merge that fails on a later tensor reports it by name and writes nothing", async () => {
  const [a, b] = await models("BF16");
  const cfg = join(root, "fails.yml");
  // Weights (1, −1) on the MLP tensors only: normalize has nothing to divide by there.
  writeFileSync(
    cfg,
    `models:
  - model: ${a}
    parameters:
      weight: 1
  - model: ${b}
    parameters:
      weight:
        - filter: mlp
          value: -1
        - value: 1
merge_method: linear
`,
  );
  const o = join(root, "fails-out");
  await assert.rejects(mergeModels(cfg, { out: o, chunkElements: 1000 }), (e: Error) => {
    assert.match(
      e.message,
      /linear on model\.layers\.0\.mlp\.\w+\.weight: linear: parameter weight sums to 0/,
    );
    return true;
  });
  assert.equal(existsSync(o), false);
});
