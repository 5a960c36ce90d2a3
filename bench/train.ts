// npm run bench:train [-- --shape small|125m|all] [--steps N]
// Training throughput through the whole trainer (`pretrain`: data loading, packing, the fused
// AdamW step, metrics): tokens/s and effective GFLOPS (6 × parameters × tokens), median over the
// steps after the first (which compiles the graph), peak RSS, and where Debian's python3-torch is
// installed, the same model and step in PyTorch eager with the same threads, as a ratio.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, median, peakRssMiB, TRAIN_SHAPES } from "./common.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";
import { pretrain } from "../src/train/pretrain.js";

const which = arg("shape", "all");
const steps = Number(arg("steps", "5"));
const threads = availableParallelism();
const here = dirname(fileURLToPath(import.meta.url));
const torch = spawnSync("/usr/bin/python3", ["-c", "import torch"]).status === 0;

console.log(`bench:train  ${threads} threads, ${steps} steps per shape (median of steps 2..${steps})`);
const work = join(tmpdir(), `deepen-bench-train-${process.pid}`);
for (const shape of TRAIN_SHAPES.filter((s) => which === "all" || s.name.startsWith(which))) {
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
  const rates: number[] = [];
  await pretrain({
    model,
    data: [corpus],
    out: join(work, "out"),
    seqLen: shape.seq,
    batch: shape.batch,
    lr: 1e-4,
    maxSteps: steps,
    cacheDir: join(work, "cache"),
    onLog: (r) => {
      if (r.step > 1) rates.push(r.tokens_per_s);
    },
  });
  const params =
    JSON.parse(readFileSync(join(work, "out", "final", "model.safetensors.index.json"), "utf8")).metadata
      .total_size / 4;
  const tps = median(rates);
  const gflops = (6 * params * tps) / 1e9;
  console.log(
    `\n${shape.name}: ${(params / 1e6).toFixed(1)}M parameters, batch ${shape.batch} x ${shape.seq}`,
  );
  console.log(
    `  deepen train  ${tps.toFixed(0)} tokens/s, ${gflops.toFixed(1)} GFLOPS (6 x params x tokens)`,
  );
  if (torch) {
    const r = spawnSync(
      "/usr/bin/python3",
      [
        join(here, "..", "..", "bench", "torch_step.py"),
        JSON.stringify({ ...shape, steps: Math.max(2, steps - 2), threads }),
      ],
      {
        encoding: "utf8",
      },
    );
    if (r.status !== 0) console.log(`  PyTorch failed: ${r.stderr.trim().split("\n").pop()}`);
    else {
      const t = JSON.parse(r.stdout) as { train: number; version: string };
      const ttps = (shape.batch * shape.seq) / t.train;
      console.log(
        `  PyTorch ${t.version} eager  ${ttps.toFixed(0)} tokens/s; deepen / PyTorch ${(tps / ttps).toFixed(2)}x`,
      );
    }
  } else
    console.log(
      "  PyTorch: /usr/bin/python3 has no torch (apt-get install python3-torch for the side-by-side)",
    );
}
rmSync(work, { recursive: true, force: true });
console.log(`\npeak RSS ${peakRssMiB().toFixed(0)} MiB`);
