// npm run bench:gguf [-- --shape 7b|small] [--reps N] [--dir DIR] [--keep] [--json FILE] [--no-dus] [--no-export]
// Builds a Q4_0 GGUF shaped like Mistral-7B (32 layers, d 4096, ffn 14336, GQA 32/8, vocab 32000;
// --shape small: TinyLlama-1.1B's shape) and up-scales it by DUS (32 -> 48 layers) in its own
// process, against cp of the same bytes measured in the same run: cp of deepen's output file, so
// the baseline copies exactly the bytes deepen wrote, with cp's fastest path (copy_file_range).
// Page caches are dropped before each timed step where permitted; each step ends with sync.
// Reports seconds, GB/s, the ratio deepen / cp (medians over --reps) and deepen's peak RSS.
// Then export: a bf16 safetensors checkpoint of the same shape exported to GGUF with --dtype auto
// (BF16 matrices, the q/k rows reordered) and --dtype q8_0 (quantized by deepen), each against cp of
// its own output file. --no-export skips that part.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, CHECKPOINT_SHAPES, dropCaches, median, peakRssMiB, timed } from "./common.js";
import { encodeFloats } from "../src/checkpoint/dtype.js";
import { ggmlByteLength, ggmlTypeByName } from "../src/checkpoint/gguf/ggmlTypes.js";
import { ggufF32, ggufString, ggufU32 } from "../src/checkpoint/gguf/ggufMetadata.js";
import { type GgufOutputTensor, writeGguf } from "../src/checkpoint/gguf/writeGguf.js";
import { CHUNK_BYTES } from "../src/checkpoint/tensorStream.js";
import { mulberry32 } from "../src/random.js";
import { upscaleGguf } from "../src/surgery/upscaleGguf.js";
import { exportGguf, type GgufDtypeOption } from "../src/surgery/exportGguf.js";
import { writeSyntheticModel } from "../test/fixtures/syntheticModel.js";

// Child mode: one export in its own process, so its peak RSS is its own.
if (process.argv[2] === "--child-export") {
  const [model, out, dtype] = process.argv.slice(3);
  const r = await exportGguf(model!, out!, { dtype: dtype as GgufDtypeOption });
  process.stdout.write(JSON.stringify({ bytes: r.bytes, dtypes: r.dtypes, peakRssMiB: peakRssMiB() }) + "\n");
  process.exit(0);
}

// Child mode: one up-scale in its own process, so its peak RSS is its own.
if (process.argv[2] === "--child") {
  const [model, out] = process.argv.slice(3);
  const t0 = performance.now();
  const r = await upscaleGguf({ model, out });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    JSON.stringify({ seconds, bytes: r.fileBytes, layers: r.layers, peakRssMiB: peakRssMiB() }) + "\n",
  );
  process.exit(0);
}

const shapeName = arg("shape", "7b");
const shape = CHECKPOINT_SHAPES[shapeName === "small" ? "1b" : shapeName];
if (!shape) throw new Error(`--shape ${shapeName}: expected 7b or small`);
const reps = Number(arg("reps", "3"));
const work = arg("dir", join(tmpdir(), "deepen-bench-gguf"));
const jsonFile = arg("json", "");
const self = fileURLToPath(import.meta.url);

const Q4_0 = ggmlTypeByName("Q4_0")!;
const F32 = ggmlTypeByName("F32")!;

/** A chunk of valid Q4_0 blocks (f16 scales near 0.01, random codes), repeated to fill every matrix. */
function q4Chunk(): Uint8Array {
  const rand = mulberry32(7);
  const blocks = Math.floor(CHUNK_BYTES / Q4_0.bytesPerBlock);
  const out = new Uint8Array(blocks * Q4_0.bytesPerBlock);
  const d = new Uint8Array(2);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q4_0.bytesPerBlock;
    encodeFloats("F16", Float32Array.of(0.005 + 0.01 * rand()), d);
    out.set(d, at);
    for (let i = 2; i < Q4_0.bytesPerBlock; i++) out[at + i] = Math.floor(rand() * 256);
  }
  return out;
}

function filled(name: string, type: typeof Q4_0, dims: number[], chunk: Uint8Array): GgufOutputTensor {
  const byteLength = ggmlByteLength(type, dims) as number;
  return {
    name,
    type,
    dims,
    byteLength,
    async write(sink) {
      for (let left = byteLength; left > 0; left -= chunk.byteLength) {
        await sink.write(chunk.subarray(0, Math.min(left, chunk.byteLength)));
      }
    },
  };
}

/** The base model: llama architecture, every matrix Q4_0, norms F32 (ones). */
async function writeBase(file: string): Promise<void> {
  const { hidden, intermediate, heads, kvHeads, headDim, vocab } = shape!.dims;
  const q = q4Chunk();
  const ones = new Uint8Array(4 * hidden);
  encodeFloats("F32", new Float32Array(hidden).fill(1), ones);
  const kv = kvHeads * headDim;
  const tensors: GgufOutputTensor[] = [filled("token_embd.weight", Q4_0, [hidden, vocab], q)];
  for (let i = 0; i < shape!.layers; i++) {
    const p = `blk.${i}.`;
    tensors.push(
      filled(`${p}attn_norm.weight`, F32, [hidden], ones),
      filled(`${p}attn_q.weight`, Q4_0, [hidden, heads * headDim], q),
      filled(`${p}attn_k.weight`, Q4_0, [hidden, kv], q),
      filled(`${p}attn_v.weight`, Q4_0, [hidden, kv], q),
      filled(`${p}attn_output.weight`, Q4_0, [heads * headDim, hidden], q),
      filled(`${p}ffn_norm.weight`, F32, [hidden], ones),
      filled(`${p}ffn_gate.weight`, Q4_0, [hidden, intermediate], q),
      filled(`${p}ffn_up.weight`, Q4_0, [hidden, intermediate], q),
      filled(`${p}ffn_down.weight`, Q4_0, [intermediate, hidden], q),
    );
  }
  tensors.push(
    filled("output_norm.weight", F32, [hidden], ones),
    filled("output.weight", Q4_0, [hidden, vocab], q),
  );
  const meta = new Map([
    ["general.architecture", ggufString("llama")],
    ["general.name", ggufString(`bench ${shapeName}`)],
    ["general.file_type", ggufU32(2)],
    ["llama.context_length", ggufU32(32768)],
    ["llama.embedding_length", ggufU32(hidden)],
    ["llama.block_count", ggufU32(shape!.layers)],
    ["llama.feed_forward_length", ggufU32(intermediate)],
    ["llama.rope.dimension_count", ggufU32(headDim)],
    ["llama.attention.head_count", ggufU32(heads)],
    ["llama.attention.head_count_kv", ggufU32(kvHeads)],
    ["llama.attention.layer_norm_rms_epsilon", ggufF32(1e-5)],
    ["general.quantization_version", ggufU32(2)],
  ]);
  await writeGguf(file, meta, tensors);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const base = join(work, "base.gguf");
// --no-dus: only the export part (no Q4_0 base is built).
const noDus = process.argv.includes("--no-dus");
console.log(`bench:gguf  ${shape.label}, ${noDus ? "" : `Q4_0 DUS, `}${reps} rep(s), in ${work}`);
let baseBytes = 0;
if (!noDus) {
  const t0 = performance.now();
  await writeBase(base);
  spawnSync("sync");
  baseBytes = statSync(base).size;
  console.log(
    `built the base GGUF (${(baseBytes / 1e9).toFixed(2)} GB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const { bavail, bsize } = statfsSync(work);
  if (bavail * bsize < baseBytes * 3.2)
    throw new Error(`${work}: needs about ${((baseBytes * 3.2) / 1e9).toFixed(0)} GB free`);
}

const up: number[] = [];
const cp: number[] = [];
let bytes = 0;
let rss = 0;
let layers = 0;
let dropped = true;
for (let r = 0; r < (noDus ? 0 : reps); r++) {
  const out = join(work, "up.gguf");
  const copy = join(work, "copy.gguf");
  dropped = dropCaches() && dropped;
  const u = timed(process.execPath, [self, "--child", base, out]);
  const res = JSON.parse(u.stdout) as { seconds: number; bytes: number; layers: number; peakRssMiB: number };
  up.push(u.seconds);
  bytes = res.bytes;
  layers = res.layers;
  rss = Math.max(rss, res.peakRssMiB);
  dropped = dropCaches() && dropped;
  cp.push(timed("cp", [out, copy]).seconds);
  rmSync(copy, { force: true });
  rmSync(out, { force: true });
  console.log(
    `rep ${r + 1}: deepen ${up[r]!.toFixed(2)} s (peak RSS ${res.peakRssMiB.toFixed(0)} MiB), cp ${cp[r]!.toFixed(2)} s`,
  );
}
if (!process.argv.includes("--keep")) rmSync(base, { force: true });

interface ExportRow {
  dtype: string;
  output_bytes: number;
  deepen_seconds: number[];
  cp_seconds: number[];
  median_seconds: number;
  cp_median_seconds: number;
  gb_per_s: number;
  ratio_deepen_over_cp: number;
  peak_rss_mib: number;
}
const exports: ExportRow[] = [];
if (!process.argv.includes("--no-export")) {
  const folder = join(work, "bf16");
  const t1 = performance.now();
  await writeSyntheticModel(folder, {
    family: "llama",
    layers: shape.layers,
    dims: shape.dims,
    dtype: "BF16",
    fill: "repeat",
  });
  spawnSync("sync");
  console.log(`built the bf16 checkpoint in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  for (const dtype of ["auto", "q8_0"]) {
    const ex: number[] = [];
    const ec: number[] = [];
    let outBytes = 0;
    let peak = 0;
    for (let r = 0; r < reps; r++) {
      const out = join(work, "export.gguf");
      const copy = join(work, "export-copy.gguf");
      dropped = dropCaches() && dropped;
      const e = timed(process.execPath, [self, "--child-export", folder, out, dtype]);
      const res = JSON.parse(e.stdout) as { bytes: number; peakRssMiB: number };
      ex.push(e.seconds);
      outBytes = res.bytes;
      peak = Math.max(peak, res.peakRssMiB);
      dropped = dropCaches() && dropped;
      ec.push(timed("cp", [out, copy]).seconds);
      rmSync(copy, { force: true });
      rmSync(out, { force: true });
      console.log(
        `export ${dtype} rep ${r + 1}: deepen ${ex[r]!.toFixed(2)} s (peak RSS ${res.peakRssMiB.toFixed(0)} MiB), cp ${ec[r]!.toFixed(2)} s`,
      );
    }
    const me = median(ex);
    const mce = median(ec);
    exports.push({
      dtype,
      output_bytes: outBytes,
      deepen_seconds: ex,
      cp_seconds: ec,
      median_seconds: me,
      cp_median_seconds: mce,
      gb_per_s: outBytes / 1e9 / me,
      ratio_deepen_over_cp: me / mce,
      peak_rss_mib: peak,
    });
  }
}
if (!process.argv.includes("--keep")) rmSync(work, { recursive: true, force: true });

const mu = median(up);
const mc = median(cp);
const summary = {
  shape: shape.label,
  type: "Q4_0",
  layers: { from: shape.layers, to: layers },
  input_bytes: baseBytes,
  output_bytes: bytes,
  reps,
  deepen: { seconds: up, median_seconds: mu, gb_per_s: bytes / 1e9 / mu, peak_rss_mib: rss },
  cp: { seconds: cp, median_seconds: mc, gb_per_s: bytes / 1e9 / mc, what: "cp of deepen's output file" },
  ratio_deepen_over_cp: mu / mc,
  page_caches_dropped: dropped,
  export: exports,
};
console.log("");
if (!noDus) {
  console.log(
    `output              ${(bytes / 1e9).toFixed(2)} GB (${shape.layers} -> ${layers} layers, ${bytes} bytes)`,
  );
  console.log(
    `deepen upscale      median ${mu.toFixed(2)} s  ${(bytes / 1e9 / mu).toFixed(2)} GB/s  peak RSS ${rss.toFixed(0)} MiB`,
  );
  console.log(`cp (same bytes)     median ${mc.toFixed(2)} s  ${(bytes / 1e9 / mc).toFixed(2)} GB/s`);
  console.log(`ratio deepen / cp: ${(mu / mc).toFixed(2)}x`);
}
console.log(`page caches ${dropped ? "dropped" : "NOT dropped (not permitted)"} before each step`);
for (const e of exports) {
  console.log(
    `export --dtype ${e.dtype.padEnd(5)} ${(e.output_bytes / 1e9).toFixed(2)} GB: median ${e.median_seconds.toFixed(2)} s  ` +
      `${e.gb_per_s.toFixed(2)} GB/s  peak RSS ${e.peak_rss_mib.toFixed(0)} MiB; cp ${e.cp_median_seconds.toFixed(2)} s; ratio ${e.ratio_deepen_over_cp.toFixed(2)}x`,
  );
}
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(summary, null, 2) + "\n");
if (existsSync(work)) console.log(`kept ${work}`);
