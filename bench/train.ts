// npm run bench:train [-- --shape small|125m|all] [--steps N] [--recompute] [--json FILE]
// Training throughput through the whole trainer (`pretrain`: data loading, packing, the fused
// AdamW step, metrics.jsonl): each step's time is the wall clock from the previous step's log line
// to its own, so it holds everything the loop does, not only the step graph. Median, min and max
// over the steps after the first (which compiles the graph); the step's arithmetic from the graph
// (bench/flops.ts); peak RSS; and where Debian's python3-torch is installed, the same model and
// step in PyTorch eager in its best configuration (bench/torchBaseline.ts), as a ratio. With
// --recompute, deepen recomputes each layer in the backward pass and PyTorch checkpoints each layer
// (torch.utils.checkpoint): the memory-saving configuration of both. Peak RSS is the process's, so
// compare configurations by running one shape per invocation.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { arg, peakRssMiB, spread, selectShapes } from "./common.js";
import { stepFlops } from "./flops.js";
import { torchAvailable, torchBaseline } from "./torchBaseline.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";
import { pretrain } from "../src/train/pretrain.js";

const which = arg("shape", "all");
const steps = Number(arg("steps", "6"));
const jsonFile = arg("json", "");
const threads = availableParallelism();
const torch = torchAvailable();
const recompute = process.argv.includes("--recompute");

console.log(
  `bench:train  ${threads} threads, ${steps} steps per shape (median, min, max of steps 2..${steps})` +
    (recompute ? ", layers recomputed in the backward pass" : ""),
);
const work = join(tmpdir(), `deepen-bench-train-${process.pid}`);
const summary: unknown[] = [];
for (const shape of selectShapes(which)) {
  rmSync(work, { recursive: true, force: true });
  const model = join(work, "model");
  await writeSyntheticModel(model, {
    family: "llama",
    layers: shape.layers,
    dims: shape.dims,
    dtype: "F32",
    fill: "repeat",
  });
  // A corpus of random words, enough for every step without repeating.
  const corpus = join(work, "corpus");
  mkdirSync(corpus, { recursive: true });
  const words = "the of and to in a is that for it as was with be by on not he this are or his".split(" ");
  let s = 1;
  const need = shape.batch * (shape.seq + 1) * (steps + 1);
  for (let d = 0; d * 4000 < need; d++) {
    const text = Array.from(
      { length: 1000 },
      () => words[(s = (s * 48271) % 2147483647) % words.length],
    ).join(" ");
    writeFileSync(join(corpus, `${d}.txt`), text);
  }
  const seconds: number[] = [];
  let last = 0;
  await pretrain({
    model,
    data: [corpus],
    out: join(work, "out"),
    seqLen: shape.seq,
    batch: shape.batch,
    lr: 1e-4,
    maxSteps: steps,
    recompute,
    cacheDir: join(work, "cache"),
    onLog: (r) => {
      const now = performance.now();
      if (r.step > 1) seconds.push((now - last) / 1000);
      last = now;
    },
  });
  const params =
    JSON.parse(readFileSync(join(work, "out", "final", "model.safetensors.index.json"), "utf8")).metadata
      .total_size / 4;
  const tok = shape.batch * shape.seq;
  const t = spread(seconds);
  const gflop = stepFlops(shape) / 1e9;
  console.log(
    `\n${shape.name}: ${(params / 1e6).toFixed(1)}M parameters, batch ${shape.batch} x ${shape.seq}`,
  );
  console.log(
    `  deepen train  ${(tok / t.median).toFixed(0)} tokens/s (step ${(t.median * 1000).toFixed(0)} ms, ` +
      `${(t.min * 1000).toFixed(0)}–${(t.max * 1000).toFixed(0)}), ${(gflop / t.median).toFixed(1)} GFLOPS (${gflop.toFixed(0)} GFLOP a step)`,
  );
  const entry: Record<string, unknown> = {
    shape: shape.name,
    parameters: params,
    tokens: tok,
    recompute,
    step_s: t,
  };
  if (torch) {
    const r = torchBaseline(shape, Math.max(3, steps - 1), threads, { recompute });
    if ("error" in r) console.log(`  PyTorch failed: ${r.error}`);
    else {
      const b = spread(r.best.train);
      console.log(
        `  PyTorch ${r.best.version} eager${recompute ? ", layers checkpointed" : ""} (${r.best.threads} thread${r.best.threads > 1 ? "s" : ""}, best of ${r.tried.map((x) => x.threads).join(" and ")})  ` +
          `${(tok / b.median).toFixed(0)} tokens/s (${(b.min * 1000).toFixed(0)}–${(b.max * 1000).toFixed(0)} ms); deepen / PyTorch ${(b.median / t.median).toFixed(2)}x`,
      );
      entry.torch_step_s = b;
      entry.torch_threads = r.best.threads;
      entry.torch_peak_rss_mib = r.best.peak_rss_mib;
      console.log(`  peak RSS: PyTorch ${r.best.peak_rss_mib.toFixed(0)} MiB`);
      entry.ratio = b.median / t.median;
    }
  } else
    console.log(
      "  PyTorch: /usr/bin/python3 has no torch (apt-get install python3-torch libopenblas0-openmp for the side-by-side)",
    );
  summary.push(entry);
}
rmSync(work, { recursive: true, force: true });
console.log(`\npeak RSS ${peakRssMiB().toFixed(0)} MiB`);
if (jsonFile)
  writeFileSync(
    jsonFile,
    JSON.stringify({ threads, steps, recompute, shapes: summary, peak_rss_mib: peakRssMiB() }, null, 2) +
      "\n",
  );
