// npm run bench:eval [-- --docs N] [--repeats R] [--shots K]
// Task evaluation on the embedded deepen-tiny, in one process:
// - multiple choice (tiny_nextsentence, K-shot so the context is long against the four endings):
//   documents/s with the choices scored over one shared context, against each choice in its own
//   row (what lm-evaluation-harness runs), alternating, the median of R runs each;
// - generation (tiny_math, greedy until the stop sequences): generated tokens/s and documents/s.
// The first run of each mode compiles its graphs; it is run once before timing.
import { availableParallelism } from "node:os";
import { arg, median, peakRssMiB } from "./common.js";
import { DEFAULT_MODEL } from "../src/demo/runDemo.js";
import { DecoderModel } from "../src/nn/decoderModel.js";
import { loadTokenizer } from "../src/tokenizer/loadTokenizer.js";
import { type EvalModel, runTask, type TaskRunOptions } from "../src/eval/tasks/runTask.js";
import { loadTask } from "../src/eval/tasks/taskSpec.js";
import { tinyDocs } from "../src/eval/tasks/tinySuite.js";

const docs = Number(arg("docs", "200"));
const repeats = Number(arg("repeats", "3"));
const shots = Number(arg("shots", "3"));

const model = await DecoderModel.load(DEFAULT_MODEL);
const tokenizer = await loadTokenizer(DEFAULT_MODEL);
const m: EvalModel = { model, tokenizer, maxLength: 256, addBos: false };
const base: TaskRunOptions = { limit: docs, seed: 1234, tokensPerRun: 2048, shared: true, genBatch: 16 };
console.log(
  `bench:eval  ${availableParallelism()} threads; deepen-tiny, ${docs} documents a run, median of ${repeats}`,
);

const mcSpec = await loadTask("tiny_nextsentence");
const mc = await tinyDocs("tiny_nextsentence");
const timeMc = async (shared: boolean) => {
  const t0 = performance.now();
  const r = await runTask(m, mcSpec, mc.evalSet, undefined, { ...base, shots, shared });
  return { seconds: (performance.now() - t0) / 1000, acc: r.metrics.acc!.value };
};
await timeMc(true);
await timeMc(false);
const rates: Record<"shared" | "separate", number[]> = { shared: [], separate: [] };
const accs = new Set<string>();
for (let i = 0; i < repeats; i++)
  for (const shared of [true, false]) {
    const t = await timeMc(shared);
    rates[shared ? "shared" : "separate"].push(docs / t.seconds);
    accs.add(t.acc.toFixed(6));
  }
const s = median(rates.shared);
const p = median(rates.separate);
console.log(`multiple choice, ${shots}-shot, 4 endings:`);
console.log(`  shared context   ${s.toFixed(1)} docs/s`);
console.log(`  each choice alone ${p.toFixed(1)} docs/s   (shared / alone = ${(s / p).toFixed(2)}x)`);
console.log(
  `  accuracy identical across modes and runs: ${accs.size === 1 ? "yes" : `no (${[...accs].join(", ")})`}`,
);

const genSpec = await loadTask("tiny_math");
const gen = await tinyDocs("tiny_math");
let generated = 0;
const genRates: number[] = [];
const genDocs: number[] = [];
for (let i = 0; i <= repeats; i++) {
  const t0 = performance.now();
  const r = await runTask(m, genSpec, gen.evalSet, gen.pool, base);
  const seconds = (performance.now() - t0) / 1000;
  generated = r.generatedTokens ?? 0;
  // The first run compiles the prefill and step graphs of every prompt length.
  if (i > 0) {
    genRates.push(generated / seconds);
    genDocs.push(docs / seconds);
  }
}
console.log(
  `generation (tiny_math, 1-shot, greedy, up to 112 tokens, 16 rows side by side, left-padded to 32-token buckets):`,
);
console.log(
  `  ${median(genRates).toFixed(0)} generated tokens/s, ${median(genDocs).toFixed(1)} docs/s (${generated} tokens a run)`,
);
console.log(`peak RSS ${peakRssMiB().toFixed(0)} MiB`);
await model.release();
