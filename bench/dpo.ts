// npm run bench:dpo [-- --steps N] [--pairs N]
// DPO beside SFT on the same model (the embedded deepen-tiny), sequence length and rows per
// micro-batch, in one process: SFT (unpacked, 8 examples a micro-batch) against DPO (4 pairs = 8
// rows, chosen and rejected side by side), tokens/s and pairs/s as the median over each run's steps
// after the first (which compiles the graph), and the time of DPO's reference pass over every
// pair before training.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { arg, median, peakRssMiB } from "./common.js";
import { DEFAULT_MODEL } from "../src/demo/runDemo.js";
import { generateMathSet } from "../src/data/math/generate.js";
import { dpo } from "../src/train/dpo.js";
import { sft } from "../src/train/sft.js";

const steps = Number(arg("steps", "12"));
const pairCount = Number(arg("pairs", "2000"));
const seqLen = 256;
const rows = 8;
const work = join(tmpdir(), `deepen-bench-dpo-${process.pid}`);
mkdirSync(work, { recursive: true });

const set = generateMathSet({
  n: pairCount,
  seed: 1,
  levels: [1, 2, 3, 4],
  rephrase: 1,
  testFraction: 0.1,
  preference: true,
});
const sftData = join(work, "train.jsonl");
const pairData = join(work, "pairs.jsonl");
writeFileSync(sftData, set.train.map((r) => JSON.stringify(r)).join("\n") + "\n");
writeFileSync(pairData, set.pairs!.train.map((r) => JSON.stringify(r)).join("\n") + "\n");

console.log(
  `bench:dpo  ${availableParallelism()} threads; deepen-tiny (chatml), ${rows} rows x ${seqLen}, ${steps} steps per run`,
);
// The SFT run also gives the chat-templated model DPO starts from, as in the recipe.
const sftRates: number[] = [];
await sft({
  model: DEFAULT_MODEL,
  data: [sftData],
  out: join(work, "sft"),
  force: true,
  seqLen,
  batch: rows,
  maxSteps: steps,
  template: "chatml",
  addChatTokens: true,
  onLog: (r) => r.step > 1 && sftRates.push(r.tokens_per_s),
});
const dpoRates: number[] = [];
const pairRates: number[] = [];
let referenceSeconds = NaN;
let last = 0;
await dpo({
  model: join(work, "sft", "final"),
  data: [pairData],
  out: join(work, "dpo"),
  force: true,
  seqLen,
  batch: rows / 2,
  maxSteps: steps,
  onNote: (m) => {
    const t = /^reference pass: ([\d.]+) s/.exec(m);
    if (t) referenceSeconds = Number(t[1]);
  },
  onStart: () => (last = Date.now()),
  onLog: (r) => {
    const now = Date.now();
    if (r.step > 1) {
      dpoRates.push(r.tokens_per_s);
      pairRates.push(rows / 2 / ((now - last) / 1000));
    }
    last = now;
  },
});
const [s, d] = [median(sftRates), median(dpoRates)];
console.log(`  sft (unpacked)      ${s.toFixed(0)} tokens/s`);
console.log(
  `  dpo                 ${d.toFixed(0)} tokens/s (${(d / s).toFixed(2)}x SFT), ${median(pairRates).toFixed(1)} pairs/s`,
);
console.log(
  `  reference pass      ${referenceSeconds.toFixed(1)} s for ${set.pairs!.train.length} pairs (${(set.pairs!.train.length / referenceSeconds).toFixed(0)} pairs/s)`,
);
rmSync(work, { recursive: true, force: true });
console.log(`\npeak RSS ${peakRssMiB().toFixed(0)} MiB`);
