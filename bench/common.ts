// What the benchmarks share: the model shapes they measure and small helpers.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import type { Dims } from "../src/arch/families.js";

/** Checkpoint shapes for the I/O benchmarks (upscale, merge). */
export const CHECKPOINT_SHAPES: Record<string, { layers: number; dims: Dims; label: string }> = {
  "7b": {
    label: "Mistral-7B shape (32 layers, d 4096, ffn 14336, GQA 32/8, vocab 32000)",
    layers: 32,
    dims: {
      hidden: 4096,
      intermediate: 14336,
      heads: 32,
      kvHeads: 8,
      headDim: 128,
      vocab: 32000,
      experts: 0,
    },
  },
  "1b": {
    label: "TinyLlama-1.1B shape (22 layers, d 2048, ffn 5632, GQA 32/4, vocab 32000)",
    layers: 22,
    dims: { hidden: 2048, intermediate: 5632, heads: 32, kvHeads: 4, headDim: 64, vocab: 32000, experts: 0 },
  },
};

export interface TrainShape {
  name: string;
  layers: number;
  dims: Dims;
  batch: number;
  seq: number;
}

/** Shapes for the compute benchmarks (engine, train): the demo model's and a ~125M Llama. */
export const TRAIN_SHAPES: TrainShape[] = [
  {
    name: "small (deepen-tiny: 8 layers, d 256, GQA 8/4, vocab 4096)",
    layers: 8,
    dims: { hidden: 256, intermediate: 688, heads: 8, kvHeads: 4, headDim: 32, vocab: 4096, experts: 0 },
    batch: 4,
    seq: 256,
  },
  {
    name: "125M Llama (12 layers, d 768, 12 heads, ffn 2048, vocab 32000)",
    layers: 12,
    dims: { hidden: 768, intermediate: 2048, heads: 12, kvHeads: 12, headDim: 64, vocab: 32000, experts: 0 },
    batch: 4,
    seq: 512,
  },
];

/** The shapes `--shape` names: "all", or the start of a shape's name in any case ("125m"). */
export const selectShapes = (which: string): TrainShape[] =>
  TRAIN_SHAPES.filter((s) => which === "all" || s.name.toLowerCase().startsWith(which.toLowerCase()));

/** The value after --name on the command line, else `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median, min and max of repeated measurements (these machines are noisy: one figure is not enough). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}
export const spread = (xs: number[]): Spread => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
  n: xs.length,
});

/** Repeats `fn` `runs` times after one warm-up run (the first run compiles and allocates); seconds each. */
export async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts;
}

/** This process's resident high-water mark (VmHWM), in MiB; unlike getrusage's maxrss it is not inherited from the parent across exec. */
export const peakRssMiB = () =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;

/** Flushes and drops the page cache where permitted (root), so reads come from disk. */
export function dropCaches(): boolean {
  spawnSync("sync");
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3");
    return true;
  } catch {
    return false;
  }
}

/** Runs a command to completion and syncs the disk, so its writes are counted; seconds and stdout. */
export function timed(cmd: string, args: string[]): { seconds: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  spawnSync("sync");
  return { seconds: (performance.now() - t0) / 1000, stdout: r.stdout };
}
