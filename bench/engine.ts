// npm run bench:engine [-- --shape small|125m|all] [--steps N]
// Forward and training-step throughput of the engine on two fixed Llama shapes, the effective
// GFLOPS of a step (6 × parameters × tokens), and, measured in the same run, the MatMul ceiling of
// this machine through onnxruntime, as the ratio of the two. With Debian's python3-torch, the same
// model and step in PyTorch eager on the same shapes and threads (bench/torch_step.py).
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Graph } from "../src/graph/graph.js";
import { toOnnx } from "../src/graph/toOnnx.js";
import { DecoderModel } from "../src/nn/decoderModel.js";
import { loadWeights } from "../src/nn/loadParams.js";
import { CompiledGraph } from "../src/runtime/session.js";
import { arg, median, peakRssMiB, TRAIN_SHAPES } from "./common.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";
import { nextTokenBatch, nextTokenLoss } from "../src/train/nextTokenLoss.js";
import { EngineStep } from "../src/train/engineStep.js";

const which = arg("shape", "all");
const steps = Number(arg("steps", "5"));
const threads = availableParallelism();
const here = dirname(fileURLToPath(import.meta.url));

async function timeIt(n: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: first run allocates
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

async function matmulCeiling(): Promise<number> {
  let best = 0;
  for (const [M, K, N] of [
    [2048, 768, 3072],
    [2048, 2048, 2048],
  ] as const) {
    const g = new Graph();
    const a = g.input("a", "float32", [M, K]);
    const b = g.input("b", "float32", [K, N]);
    const graph = await CompiledGraph.create(toOnnx(g, { c: g.op("MatMul", [a, b]) }));
    const feeds = {
      a: { dtype: "float32" as const, shape: [M, K], data: new Float32Array(M * K).fill(0.01) },
      b: { dtype: "float32" as const, shape: [K, N], data: new Float32Array(K * N).fill(0.01) },
    };
    const s = await timeIt(5, () => graph.run(feeds));
    best = Math.max(best, (2 * M * N * K) / s / 1e9);
    await graph.release();
  }
  return best;
}

function torchAvailable(): boolean {
  return spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" }).status === 0;
}

console.log(`bench:engine  ${threads} threads, ${steps} timed steps each (median), onnxruntime CPU`);
const ceiling = await matmulCeiling();
console.log(`MatMul ceiling (onnxruntime f32): ${ceiling.toFixed(1)} GFLOPS`);
const torch = torchAvailable();
if (!torch)
  console.log("PyTorch: /usr/bin/python3 has no torch (apt-get install python3-torch for the side-by-side)");

for (const shape of TRAIN_SHAPES.filter((s) => which === "all" || s.name.startsWith(which))) {
  const dir = join(tmpdir(), `deepen-bench-engine-${process.pid}`);
  await writeSyntheticModel(dir, {
    family: "llama",
    layers: shape.layers,
    dims: shape.dims,
    dtype: "F32",
    fill: "repeat",
  });
  const { batch: B, seq: T } = shape;
  const tokens = Array.from({ length: B }, (_, b) =>
    Array.from({ length: T }, (_, t) => (b * 131 + t * 7) % shape.dims.vocab),
  );
  const model = await DecoderModel.load(dir);
  const params = [...model.params.values()].reduce((a, p) => a + p.data.length, 0);
  const fwd = await timeIt(steps, () => model.nll(tokens, tokens));
  await model.release();
  const w = await loadWeights(dir);
  const step = await EngineStep.create(w.decoder, w.params, B, T, { loss: nextTokenLoss });
  const batch = nextTokenBatch(tokens, tokens);
  const train = await timeIt(steps, () => step.run([batch], 1e-4));
  await step.release();
  rmSync(dir, { recursive: true, force: true });
  const tok = B * T;
  const gflops = (6 * params * tok) / train / 1e9;
  console.log(`\n${shape.name}: ${(params / 1e6).toFixed(1)}M parameters, batch ${B} x ${T}`);
  console.log(`  forward      ${(tok / fwd).toFixed(0)} tokens/s (${(fwd * 1000).toFixed(0)} ms)`);
  console.log(
    `  train step   ${(tok / train).toFixed(0)} tokens/s (${(train * 1000).toFixed(0)} ms), ${gflops.toFixed(1)} GFLOPS = ${((100 * gflops) / ceiling).toFixed(0)}% of the MatMul ceiling`,
  );
  const embedding = shape.dims.vocab * shape.dims.hidden;
  const dense = (6 * (params - embedding) * tok) / train / 1e9;
  console.log(
    `               without the embedding matrix (a gather, not a matmul): ${dense.toFixed(1)} GFLOPS = ${((100 * dense) / ceiling).toFixed(0)}%`,
  );
  const large = shape !== TRAIN_SHAPES[0];
  if (torch && large && !process.argv.includes("--torch-large")) {
    console.log(
      "  PyTorch: skipped on this shape (Debian's build takes minutes a step here); --torch-large runs it",
    );
  } else if (torch) {
    const r = spawnSync(
      "/usr/bin/python3",
      [join(here, "..", "..", "bench", "torch_step.py"), JSON.stringify({ ...shape, steps, threads })],
      { encoding: "utf8" },
    );
    if (r.status !== 0) console.log(`  PyTorch failed: ${r.stderr.trim().split("\n").pop()}`);
    else {
      const t = JSON.parse(r.stdout) as { forward: number; train: number; version: string };
      console.log(
        `  PyTorch ${t.version} eager: forward ${(tok / t.forward).toFixed(0)} tokens/s, train ${(tok / t.train).toFixed(0)} tokens/s; ` +
          `deepen/PyTorch: forward ${(t.forward / fwd).toFixed(2)}x, train ${(t.train / train).toFixed(2)}x`,
      );
    }
  }
}
console.log(`\npeak RSS ${peakRssMiB().toFixed(0)} MiB`);
