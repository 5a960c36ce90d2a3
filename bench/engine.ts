// npm run bench:engine [-- --shape small|125m|all] [--runs N] [--json FILE] [--no-torch]
// The engine's forward pass and fused training step on two fixed Llama shapes, each timed N times
// (default 5) after a warm-up: median, min and max. The step's arithmetic is counted from the graph
// (bench/flops.ts: projections, attention, head; the embedding is a gather) and set against two
// ceilings measured in the same run: the best of several large GEMMs through onnxruntime with no
// copy in the timing, and the machine's nominal FMA peak. With Debian's python3-torch, PyTorch eager
// runs the same model and step in its best configuration (bench/torchBaseline.ts), as a ratio. Also
// greedy generation with the KV cache, batch 1: a 128-token prompt and 64 new tokens, both sides.
import { rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Graph, type Value } from "../src/graph/graph.js";
import { toOnnx } from "../src/graph/toOnnx.js";
import { DecoderModel } from "../src/nn/decoderModel.js";
import { loadWeights } from "../src/nn/loadParams.js";
import { CompiledGraph } from "../src/runtime/session.js";
import { nextTokenBatch, nextTokenLoss } from "../src/train/nextTokenLoss.js";
import { EngineStep } from "../src/train/engineStep.js";
import { generate } from "../src/nn/generate.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";
import { arg, peakRssMiB, spread, timeRuns, selectShapes } from "./common.js";
import { fmaPeakGflops, forwardFlops, stepFlops } from "./flops.js";
import { type TorchRun, torchAvailable, torchBaseline } from "./torchBaseline.js";

const which = arg("shape", "all");
const runs = Number(arg("runs", "5"));
const jsonFile = arg("json", "");
const threads = availableParallelism();
/** The generation timing: prompt length and new tokens (prefill, then one cached step per token). */
const GEN = { prompt: 128, new: 64 };

/**
 * The GEMM ceiling: a chain of four square products in one graph, reduced to one number, so the
 * timing holds the products and not the copy of a result out of onnxruntime; best of `runs`.
 */
async function gemmCeiling(): Promise<{ gflops: number; n: number }> {
  const n = 2048;
  const g = new Graph();
  const a = g.input("a", "float32", [n, n]);
  const b = g.input("b", "float32", [n, n]);
  let x: Value = a;
  for (let i = 0; i < 4; i++) x = g.op("MatMul", [x, b]);
  const out = g.op("ReduceSum", [x], { axes: [0, 1], keepdims: 0 });
  const graph = await CompiledGraph.create(toOnnx(g, { out }));
  const fill = () => ({
    dtype: "float32" as const,
    shape: [n, n],
    data: new Float32Array(n * n).fill(1 / n),
  });
  const feeds = { a: fill(), b: fill() };
  const ts = await timeRuns(Math.max(runs, 5), () => graph.run(feeds));
  await graph.release();
  return { gflops: (4 * 2 * n ** 3) / Math.min(...ts) / 1e9, n };
}

console.log(`bench:engine  ${threads} threads, ${runs} timed runs each after a warm-up, onnxruntime CPU`);
const ceiling = await gemmCeiling();
const peak = fmaPeakGflops(threads);
console.log(
  `GEMM ceiling (onnxruntime f32, ${ceiling.n}² products, best run): ${ceiling.gflops.toFixed(1)} GFLOPS` +
    (peak ? `; nominal FMA peak ${peak.gflops.toFixed(0)} GFLOPS (${peak.how})` : ""),
);
const torch = !process.argv.includes("--no-torch") && torchAvailable();
if (!torch)
  console.log(
    "PyTorch: /usr/bin/python3 has no torch (apt-get install python3-torch libopenblas0-openmp for the side-by-side)",
  );

const summary: Record<string, unknown> = {
  threads,
  runs,
  ceiling_gflops: ceiling.gflops,
  fma_peak: peak,
  shapes: [],
};
for (const shape of selectShapes(which)) {
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
  const fwd = spread(await timeRuns(runs, () => model.nll(tokens, tokens)));
  const prompt = tokens[0]!.slice(0, GEN.prompt);
  const gen = spread(await timeRuns(runs, () => generate(model, prompt, { maxTokens: GEN.new })));
  await model.release();
  const w = await loadWeights(dir);
  const step = await EngineStep.create(w.decoder, w.params, B, T, { loss: nextTokenLoss });
  const batch = nextTokenBatch(tokens, tokens);
  const train = spread(await timeRuns(runs, () => step.run([batch], 1e-4)));
  await step.release();
  rmSync(dir, { recursive: true, force: true });
  const tok = B * T;
  const gflop = stepFlops(shape) / 1e9;
  const gflops = gflop / train.median;
  /** A rate from the median of `s` (seconds a run, `n` items a run), with the runs' times. */
  const rate = (s: { median: number; min: number; max: number }, n: number, unit: string, digits = 0) =>
    `${(n / s.median).toFixed(digits)} ${unit} (${(s.median * 1000).toFixed(0)} ms, ${(s.min * 1000).toFixed(0)}–${(s.max * 1000).toFixed(0)})`;
  const fmt = (s: { median: number; min: number; max: number }) => rate(s, tok, "tokens/s");
  const genFmt = (s: { median: number; min: number; max: number }) => rate(s, GEN.new, "new tokens/s", 1);
  console.log(`\n${shape.name}: ${(params / 1e6).toFixed(1)}M parameters, batch ${B} x ${T}`);
  console.log(`  forward      ${fmt(fwd)}, ${(forwardFlops(shape) / 1e9 / fwd.median).toFixed(1)} GFLOPS`);
  console.log(
    `  generate     ${genFmt(gen)}: ${GEN.prompt}-token prompt, ${GEN.new} new tokens, greedy, batch 1`,
  );
  console.log(
    `  train step   ${fmt(train)}: ${gflop.toFixed(0)} GFLOP a step, ${gflops.toFixed(1)} GFLOPS = ` +
      `${((100 * gflops) / ceiling.gflops).toFixed(0)}% of the GEMM ceiling` +
      (peak ? `, ${((100 * gflops) / peak.gflops).toFixed(0)}% of the FMA peak` : ""),
  );
  const entry: Record<string, unknown> = {
    shape: shape.name,
    parameters: params,
    tokens: tok,
    step_gflop: gflop,
    forward_s: fwd,
    generate_s: gen,
    train_s: train,
    train_tokens_per_s: tok / train.median,
  };
  if (torch) {
    const t = torchBaseline(shape, runs, threads, { gen: GEN });
    if ("error" in t) console.log(`  PyTorch failed: ${t.error}`);
    else {
      for (const r of t.tried) {
        const f = spread(r.forward);
        const s = spread(r.train);
        console.log(
          `  PyTorch ${r.version} eager, ${r.threads} thread${r.threads > 1 ? "s" : ""} (${r.blas.map((l) => l.split("/").slice(-2).join("/")).join(", ") || "BLAS ?"}): forward ${fmt(f)}; generate ${genFmt(spread(r.generate))}; train ${fmt(s)}${r === t.best ? "  <- best" : ""}`,
        );
      }
      // Each measure against PyTorch's best configuration for that measure.
      const bestOf = (pick: (r: TorchRun) => number[]) =>
        Math.min(...t.tried.map((r) => spread(pick(r)).median));
      const bg = bestOf((r) => r.generate);
      const bf = bestOf((r) => r.forward);
      const bt = bestOf((r) => r.train);
      console.log(
        `  deepen / PyTorch (best): forward ${(bf / fwd.median).toFixed(2)}x, generate ${(bg / gen.median).toFixed(2)}x, train ${(bt / train.median).toFixed(2)}x`,
      );
      entry.torch = t.tried.map((r) => ({ ...r, best: r === t.best }));
      entry.ratio_forward = bf / fwd.median;
      entry.ratio_generate = bg / gen.median;
      entry.ratio_train = bt / train.median;
    }
  }
  (summary.shapes as unknown[]).push(entry);
}
summary.peak_rss_mib = peakRssMiB();
console.log(`\npeak RSS ${peakRssMiB().toFixed(0)} MiB`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(summary, null, 2) + "\n");
