// npm run bench:sft [-- --steps N] [--rounds R] [--examples N]
// Supervised fine-tuning against pretraining on the same model (the embedded deepen-tiny), sequence
// length and batch, in one process, alternating R rounds of each so that drift of a noisy machine
// falls on both: training tokens/s (median over each run's steps after the first, which compiles
// the graph). For SFT two rates: the examples' own tokens (what the run learns from) and the row
// slots they fill (tokens plus padding: the compute spent). Then rendering and tokenizing: examples/s
// through the chat template, the prefix-by-prefix mask and the tokenizer.
import { writeFileSync, rmSync, mkdirSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { arg, median, peakRssMiB } from "./common.js";
import { DEFAULT_MODEL } from "../src/demo/runDemo.js";
import { generateMathSet } from "../src/data/math/generate.js";
import { pretrain } from "../src/train/pretrain.js";
import { sft } from "../src/train/sft.js";
import { builtinTemplate } from "../src/tokenizer/builtinTemplates.js";
import { loadTokenizer } from "../src/tokenizer/loadTokenizer.js";
import { stageChatTokenizer } from "../src/tokenizer/stageChatTokenizer.js";
import { readSftDataset } from "../src/train/sft/sftData.js";

const steps = Number(arg("steps", "12"));
const rounds = Number(arg("rounds", "2"));
const exampleCount = Number(arg("examples", "4000"));
const seqLen = 256;
const batch = 8;
const work = join(tmpdir(), `deepen-bench-sft-${process.pid}`);
mkdirSync(work, { recursive: true });

const set = generateMathSet({
  n: exampleCount,
  seed: 1,
  levels: [1, 2, 3, 4],
  rephrase: 1,
  testFraction: 0.1,
});
const data = join(work, "train.jsonl");
writeFileSync(data, set.train.map((r) => JSON.stringify(r)).join("\n") + "\n");

console.log(
  `bench:sft  ${availableParallelism()} threads; deepen-tiny, batch ${batch} x ${seqLen}, ${steps} steps per run, ${rounds} rounds`,
);
const rates = { pretrain: [] as number[], sft: [] as number[], slots: [] as number[] };
for (let round = 0; round < rounds; round++) {
  const pre: number[] = [];
  await pretrain({
    model: DEFAULT_MODEL,
    data: ["embedded:train"],
    out: join(work, "pre"),
    force: true,
    seqLen,
    batch,
    maxSteps: steps,
    cacheDir: join(work, "cache"),
    onLog: (r) => r.step > 1 && pre.push(r.tokens_per_s),
  });
  rates.pretrain.push(median(pre));
  const own: number[] = [];
  const slots: number[] = [];
  let last = Date.now();
  await sft({
    model: DEFAULT_MODEL,
    data: [data],
    out: join(work, "sft"),
    force: true,
    seqLen,
    batch,
    maxSteps: steps,
    template: "chatml",
    addChatTokens: true,
    pack: true,
    onStart: () => (last = Date.now()),
    onLog: (r) => {
      const now = Date.now();
      if (r.step > 1) {
        own.push(r.tokens_per_s);
        slots.push((batch * seqLen) / ((now - last) / 1000));
      }
      last = now;
    },
  });
  rates.sft.push(median(own));
  rates.slots.push(median(slots));
}
const [p, s, sl] = [median(rates.pretrain), median(rates.sft), median(rates.slots)];
console.log(`  pretrain            ${p.toFixed(0)} tokens/s`);
console.log(
  `  sft --pack          ${s.toFixed(0)} tokens/s of examples (${(s / p).toFixed(2)}x pretraining), ${sl.toFixed(0)} row slots/s (${(sl / p).toFixed(2)}x)`,
);

const base = await loadTokenizer(DEFAULT_MODEL);
const staged = await stageChatTokenizer(DEFAULT_MODEL, base, {
  format: builtinTemplate("chatml"),
  addTokens: true,
});
const times: number[] = [];
let count = 0;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const d = await readSftDataset([data], staged.tokenizer, { seqLen, templateHint: "", note: () => {} });
  times.push((performance.now() - t0) / 1000);
  count = d.read;
}
await staged.close();
console.log(
  `  render + tokenize   ${(count / median(times)).toFixed(0)} examples/s (chatml, prefix-by-prefix mask; ${count} examples, median of 3)`,
);
rmSync(work, { recursive: true, force: true });
console.log(`\npeak RSS ${peakRssMiB().toFixed(0)} MiB`);
