// PyTorch eager on the same shapes, in its best configuration on this machine: Debian's torch with
// the OpenMP build of OpenBLAS (libopenblas0-openmp: the pthread build's threads fight torch's
// OpenMP threads for the cores, and a single elementwise op then takes 100× longer), OMP threads
// set to match, and the run repeated with every core and with one thread, the faster one reported.
// Set-up, once, as root: apt-get install python3-torch libopenblas0-openmp. Never a test dependency.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, type TrainShape } from "./common.js";

const PYTHON = "/usr/bin/python3";
/** Where Debian puts the OpenMP build of OpenBLAS; first on the child's library path when present. */
const OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "torch_step.py");

export interface TorchRun {
  version: string;
  threads: number;
  blas: string[];
  /** Seconds of each timed run (after one warm-up). */
  forward: number[];
  train: number[];
  /** Greedy generation with a KV cache (batch 1), when asked for: seconds a run. */
  generate: number[];
  /** The PyTorch process's resident high-water mark (its step, its model, its interpreter). */
  peak_rss_mib: number;
}

export function torchAvailable(): boolean {
  return spawnSync(PYTHON, ["-c", "import torch"]).status === 0;
}

/** Runs the PyTorch step with each thread count; returns every configuration and the fastest training one. */
export function torchBaseline(
  shape: TrainShape,
  runs: number,
  cores: number,
  opts: {
    /** Each layer checkpointed (torch.utils.checkpoint): the baseline for deepen's --recompute. */
    recompute?: boolean;
    /** Prompt and new tokens of the generation timing; none when absent. */
    gen?: { prompt: number; new: number };
  } = {},
): { best: TorchRun; tried: TorchRun[] } | { error: string } {
  const tried: TorchRun[] = [];
  for (const threads of [...new Set([cores, 1])]) {
    const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads) };
    if (existsSync(OPENBLAS_OPENMP))
      env.LD_LIBRARY_PATH = [OPENBLAS_OPENMP, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
    const r = spawnSync(
      PYTHON,
      [
        SCRIPT,
        JSON.stringify({
          ...shape,
          steps: runs,
          threads,
          recompute: !!opts.recompute,
          genPrompt: opts.gen?.prompt ?? 0,
          genNew: opts.gen?.new ?? 0,
        }),
      ],
      {
        encoding: "utf8",
        env,
        maxBuffer: 1 << 20,
      },
    );
    if (r.status !== 0) return { error: r.stderr.trim().split("\n").pop() ?? `exit ${r.status}` };
    tried.push(JSON.parse(r.stdout) as TorchRun);
  }
  const best = tried.reduce((a, b) => (median(b.train) < median(a.train) ? b : a));
  return { best, tried };
}
