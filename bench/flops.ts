// The arithmetic of a Llama training step, counted from the graph the engine runs: every matrix
// product (projections, the attention scores and their weighted sum over the full masked T × T,
// the output head), and nothing else. The embedding is a gather and its gradient a scatter-add, so
// it counts no FLOPs (the usual 6 × parameters × tokens counts it, and leaves out attention).
import { readFileSync } from "node:fs";
import type { TrainShape } from "./common.js";

/** Matrix-product FLOPs of one forward pass over one [B, T] batch (2 per multiply-add). */
export function forwardFlops(s: TrainShape): number {
  const { hidden: d, intermediate: f, heads: h, kvHeads: kv, headDim: hd, vocab: V } = s.dims;
  const tokens = s.batch * s.seq;
  // Per token and layer: q and o (d × h·hd each), k and v (d × kv·hd each), gate, up and down (d × f each).
  const projections = 2 * (2 * d * h * hd + 2 * d * kv * hd + 3 * d * f);
  // Per token and layer: scores q·kᵀ and the weighted sum of v, over all T keys (the mask does not skip them).
  const attention = 2 * 2 * s.seq * h * hd;
  const head = 2 * d * V;
  return tokens * (s.layers * (projections + attention) + head);
}

/** A training step: the forward, and a backward of twice its products (the gradients of both operands). */
export const stepFlops = (s: TrainShape) => 3 * forwardFlops(s);

/**
 * This machine's nominal fused-multiply-add peak in f32: cores × GHz × FLOPs per cycle (two FMA
 * units of 8 lanes with AVX2, of 16 with AVX-512: 32 or 64). The clock is /proc/cpuinfo's current
 * figure, so it is an estimate, not a measurement.
 */
export function fmaPeakGflops(cores: number): { gflops: number; how: string } | undefined {
  let info: string;
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return undefined;
  }
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1]);
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? "";
  if (!mhz || !/\bfma\b/.test(flags)) return undefined;
  const perCycle = /\bavx512f\b/.test(flags) ? 64 : 32;
  return {
    gflops: (cores * mhz * perCycle) / 1000,
    how: `${cores} cores × ${(mhz / 1000).toFixed(2)} GHz × ${perCycle} FLOPs/cycle (${perCycle === 64 ? "AVX-512" : "AVX2"} FMA)`,
  };
}
