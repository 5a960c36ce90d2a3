import assert from "node:assert/strict";
import { gradients } from "../../src/graph/autodiff.js";
import { Graph, numelOf, type Value } from "../../src/graph/graph.js";
import { toOnnx } from "../../src/graph/toOnnx.js";
import { CompiledGraph, type HostTensor } from "../../src/runtime/session.js";

/** Seeded uniform numbers in [lo, hi). */
export function randoms(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  let s = seed >>> 0 || 1;
  return Float64Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return lo + ((s >>> 0) / 4294967296) * (hi - lo);
  });
}

export interface GradCase {
  /** Float64 inputs to differentiate: name → shape and value range. */
  inputs: Record<string, { shape: number[]; lo?: number; hi?: number }>;
  /** Other inputs (indices, masks), fed as they are. */
  fixed?: Record<string, HostTensor>;
  build(g: Graph, x: Record<string, Value>): Value;
}

/**
 * Compares autodiff's gradient of sum(out · R) (R random) with central finite differences, all in
 * float64 through onnxruntime. Returns the largest absolute error.
 */
export async function gradCheck(c: GradCase, tol = 1e-6, h = 1e-6): Promise<number> {
  const g = new Graph();
  const x: Record<string, Value> = {};
  for (const [name, spec] of Object.entries(c.inputs)) x[name] = g.input(name, "float64", spec.shape);
  for (const [name, t] of Object.entries(c.fixed ?? {})) x[name] = g.input(name, t.dtype, t.shape);
  const out = c.build(g, x);
  const r = g.constant(randoms(numelOf(out.shape), 99), out.shape, "float64");
  const loss = g.op(
    "ReduceSum",
    [g.op("Reshape", [g.op("Mul", [out, r])], { shape: [numelOf(out.shape)] })],
    {
      axes: [0],
      keepdims: 0,
    },
  );
  const names = Object.keys(c.inputs);
  const grads = gradients(
    g,
    loss,
    names.map((n) => x[n]!),
  );
  const outputs: Record<string, Value> = { loss };
  names.forEach((n, i) => (outputs[`d_${n}`] = grads[i]!));
  const both = await CompiledGraph.create(toOnnx(g, outputs), { optimization: "basic" });
  const lossOnly = await CompiledGraph.create(toOnnx(g, { loss }), { optimization: "basic" });

  const feeds: Record<string, HostTensor> = { ...c.fixed };
  names.forEach((n, i) => {
    const s = c.inputs[n]!;
    feeds[n] = {
      dtype: "float64",
      shape: s.shape,
      data: randoms(numelOf(s.shape), 7 + i, s.lo ?? -1, s.hi ?? 1),
    };
  });
  const analytic = await both.run(feeds);
  let worst = 0;
  for (const n of names) {
    const data = feeds[n]!.data as Float64Array;
    const d = analytic[`d_${n}`]!.data as Float64Array;
    assert.deepEqual(analytic[`d_${n}`]!.shape, c.inputs[n]!.shape, `gradient of ${n} has its shape`);
    for (let k = 0; k < data.length; k++) {
      const keep = data[k]!;
      data[k] = keep + h;
      const up = ((await lossOnly.run(feeds)).loss!.data as Float64Array)[0]!;
      data[k] = keep - h;
      const down = ((await lossOnly.run(feeds)).loss!.data as Float64Array)[0]!;
      data[k] = keep;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(numeric - d[k]!) / Math.max(1, Math.abs(numeric));
      worst = Math.max(worst, err);
      assert.ok(err <= tol, `d loss/d ${n}[${k}]: autodiff ${d[k]} vs finite differences ${numeric}`);
    }
  }
  await both.release();
  await lossOnly.release();
  return worst;
}
