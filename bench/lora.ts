// npm run bench:lora [-- --layers N] [--reps N] [--dir DIR] [--keep] [--json FILE] [--no-torch]
// `deepen lora merge MODEL ADAPTER -o OUT` (mergeLora) end to end, each run in its own process (its
// peak RSS is its own), against PyTorch doing the same job in the same run (bench/lora_torch.py,
// Debian's /usr/bin/python3: read every tensor, W = bf16(W + (alpha/r)·B@A) with the matmul and the
// sum in float32, no autograd, torch.set_num_threads(cores), the OpenMP OpenBLAS first when present,
// write the safetensors shards). MODEL is a bf16 checkpoint shaped like the first --layers (default 4)
// layers of Mistral-7B (d 4096, ffn 14336, GQA 32/8, vocab 32000, untied head); ADAPTER is a PEFT
// LoRA adapter (float32) of rank 16, alpha 32, on q/k/v/o/gate/up/down_proj of every layer. Both
// are built in --dir (default under the OS temp dir), removed at the end unless --keep.
// Page caches are dropped before each timed step where permitted; each step ends with sync.
// Reports seconds and GB/s of output (medians over --reps, default 3), the ratio deepen / PyTorch,
// deepen's peak RSS, and how far the two outputs differ over the updated tensors (the largest
// absolute difference and the largest in bf16 ulps of the values; printed, not asserted).
import { spawnSync } from "node:child_process";
import { availableParallelism, tmpdir } from "node:os";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, CHECKPOINT_SHAPES, dropCaches, median, peakRssMiB, timed } from "./common.js";
import { torchAvailable } from "./torchBaseline.js";
import { familyByName } from "../src/arch/findFamily.js";
import { modelTensorShapes } from "../src/arch/modelLayout.js";
import { mergeLora } from "../src/checkpoint/lora/mergeLora.js";
import { adapterConfig, type AdapterTensor, linearPair, writeAdapter } from "../test/fixtures/loraAdapter.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";

// Child mode: one merge in its own process, so its peak RSS is its own.
if (process.argv[2] === "--child") {
  const [model, adapter, out] = process.argv.slice(3);
  const r = await mergeLora(model!, adapter!, out!);
  process.stdout.write(
    JSON.stringify({ bytes: r.bytes, modules: r.modules, peakRssMiB: peakRssMiB() }) + "\n",
  );
  process.exit(0);
}

const PYTHON = "/usr/bin/python3";
const OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
const self = fileURLToPath(import.meta.url);
const script = join(dirname(self), "..", "..", "bench", "lora_torch.py");

const shape = CHECKPOINT_SHAPES["7b"]!;
const layers = Number(arg("layers", "4"));
const reps = Number(arg("reps", "3"));
const work = arg("dir", join(tmpdir(), "deepen-bench-lora"));
const jsonFile = arg("json", "");
const keep = process.argv.includes("--keep");
const RANK = 16;
const ALPHA = 32;
const TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
const threads = availableParallelism();
const withTorch = !process.argv.includes("--no-torch") && torchAvailable();

const torchEnv: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads) };
if (existsSync(OPENBLAS_OPENMP))
  torchEnv.LD_LIBRARY_PATH = [OPENBLAS_OPENMP, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");

/** Runs the PyTorch script in `mode`, timed (with sync) and with the given arguments; its JSON line. */
function python<T>(args: string[]): { seconds: number; result: T } {
  const t0 = performance.now();
  const r = spawnSync(PYTHON, [script, ...args], { encoding: "utf8", env: torchEnv, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${script} ${args[0]} failed: ${r.stderr}`);
  spawnSync("sync");
  return { seconds: (performance.now() - t0) / 1000, result: JSON.parse(r.stdout) as T };
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const model = join(work, "model");
const adapter = join(work, "adapter");
console.log(
  `bench:lora  Mistral-7B shape, ${layers} layer(s), LoRA r ${RANK} alpha ${ALPHA} on ${TARGETS.length} modules a layer, ` +
    `${reps} rep(s), in ${work}`,
);
const t0 = performance.now();
await writeSyntheticModel(model, {
  family: "llama",
  layers,
  dims: shape.dims,
  dtype: "BF16",
  fill: "repeat",
});
const pairs: AdapterTensor[] = [];
let seed = 1;
for (const [name, [outF, inF]] of modelTensorShapes(familyByName("llama"), layers, shape.dims, false)) {
  const m = /^(.*\.(\w+))\.weight$/.exec(name);
  if (m && TARGETS.includes(m[2]!)) pairs.push(...linearPair(m[1]!, RANK, outF!, inF!, seed++));
}
await writeAdapter(adapter, adapterConfig({ r: RANK, lora_alpha: ALPHA, target_modules: TARGETS }), pairs);
spawnSync("sync");
console.log(
  `built the model and the adapter (${pairs.length / 2} pairs) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
if (!withTorch) console.log("PyTorch not found (or --no-torch): deepen alone");

interface TorchResult {
  seconds_after_import: number;
  import_seconds: number;
  bytes: number;
  modules: number;
  threads: number;
  torch: string;
  peak_rss_mib: number;
}
interface Agreement {
  tensors: number;
  elements: number;
  elements_differing: number;
  max_abs_diff: number;
  max_diff_ulps: number;
  max_abs_value: number;
  ulp_at_max_value: number;
  others_identical: boolean;
}

const dp: number[] = [];
const tp: number[] = [];
const tpInner: number[] = [];
let bytes = 0;
let modules = 0;
let rss = 0;
let torchRss = 0;
let torchInfo: TorchResult | undefined;
let agreement: Agreement | undefined;
let dropped = true;
const outDeepen = join(work, "out-deepen");
const outTorch = join(work, "out-torch");
for (let r = 0; r < reps; r++) {
  dropped = dropCaches() && dropped;
  const d = timed(process.execPath, [self, "--child", model, adapter, outDeepen]);
  const res = JSON.parse(d.stdout) as { bytes: number; modules: number; peakRssMiB: number };
  dp.push(d.seconds);
  bytes = res.bytes;
  modules = res.modules;
  rss = Math.max(rss, res.peakRssMiB);
  let line = `rep ${r + 1}: deepen ${d.seconds.toFixed(2)} s (peak RSS ${res.peakRssMiB.toFixed(0)} MiB)`;
  if (withTorch) {
    dropped = dropCaches() && dropped;
    const t = python<TorchResult>(["merge", model, adapter, outTorch, String(threads)]);
    tp.push(t.seconds);
    tpInner.push(t.result.seconds_after_import);
    torchInfo = t.result;
    torchRss = Math.max(torchRss, t.result.peak_rss_mib);
    if (t.result.bytes !== bytes) console.log(`note: PyTorch wrote ${t.result.bytes} bytes, deepen ${bytes}`);
    line += `, PyTorch ${t.seconds.toFixed(2)} s (${t.result.import_seconds.toFixed(2)} s of it importing torch)`;
    if (r === reps - 1)
      agreement = python<Agreement>(["compare", outDeepen, outTorch, model, adapter]).result;
  }
  console.log(line);
  rmSync(outDeepen, { recursive: true, force: true });
  rmSync(outTorch, { recursive: true, force: true });
}
if (!keep) rmSync(work, { recursive: true, force: true });

const md = median(dp);
const mt = withTorch ? median(tp) : NaN;
const gb = bytes / 1e9;
const summary = {
  shape: `Mistral-7B shape, ${layers} layers`,
  layers,
  lora: { r: RANK, alpha: ALPHA, target_modules: TARGETS, modules },
  output_bytes: bytes,
  reps,
  deepen: { seconds: dp, median_seconds: md, gb_per_s: gb / md, peak_rss_mib: rss },
  torch: withTorch
    ? {
        seconds: tp,
        median_seconds: mt,
        gb_per_s: gb / mt,
        seconds_after_import: tpInner,
        median_seconds_after_import: median(tpInner),
        peak_rss_mib: torchRss,
        threads: torchInfo?.threads,
        version: torchInfo?.torch,
      }
    : null,
  ratio_deepen_over_torch: md / mt,
  agreement: agreement ?? null,
  page_caches_dropped: dropped,
};

const row = (name: string, s: number, peak: string) =>
  `${name.padEnd(28)}${`${s.toFixed(2)} s`.padStart(10)}${(gb / s).toFixed(2).padStart(8)}${peak.padStart(14)}`;
console.log("");
console.log(`output ${gb.toFixed(2)} GB (${bytes} bytes), ${modules} weights updated`);
console.log(`${"".padEnd(28)}${"median".padStart(10)}${"GB/s".padStart(8)}${"peak RSS".padStart(14)}`);
console.log(row("deepen lora merge", md, `${rss.toFixed(0)} MiB`));
if (withTorch) {
  console.log(
    row(`PyTorch ${torchInfo?.torch} (${torchInfo?.threads} thr)`, mt, `${torchRss.toFixed(0)} MiB`),
  );
  console.log(row("  same, after import torch", median(tpInner), ""));
  console.log(`ratio deepen / PyTorch: ${(md / mt).toFixed(2)}x`);
}
if (agreement) {
  const a = agreement;
  console.log(
    `deepen vs PyTorch over the ${a.tensors} updated tensors: max |difference| ${a.max_abs_diff.toExponential(3)} ` +
      `(one bf16 ulp at the largest |value|, ${a.max_abs_value.toFixed(4)}: ${a.ulp_at_max_value.toExponential(3)}); ` +
      `at most ${a.max_diff_ulps.toFixed(2)} ulp of each element's scale; ` +
      `${a.elements_differing} of ${a.elements} elements differ; other tensors ${a.others_identical ? "byte-identical" : "DIFFER"}`,
  );
}
console.log(`page caches ${dropped ? "dropped" : "NOT dropped (not permitted)"} before each step`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(summary, null, 2) + "\n");
if (existsSync(work)) console.log(`kept ${work}`);
