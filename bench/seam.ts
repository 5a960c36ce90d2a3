// npm run bench:seam [-- --model DIR] [--data D] [--tokens N] [--runs N] [--json FILE]
// The cost of recording every layer boundary: `deepen seam`'s measurement (the residual stream at
// all n+1 boundaries, folded into float64 running sums) against a plain forward pass scoring the same
// rows as `eval --perplexity` does (windows of the context, no overlap, the same rows per run),
// both on the same model, tokens and batch, timed end to end after a warm-up (model load and
// tokenizing included on both sides). Medians of --runs, tokens/s, the ratio.
import { writeFileSync } from "node:fs";
import { arg, spread, timeRuns } from "./common.js";
import { DEFAULT_MODEL } from "../src/demo/runDemo.js";
import { perplexityOfTokens } from "../src/eval/perplexity.js";
import { defaultContext } from "../src/eval/perplexityOfText.js";
import { measureSeam, SEAM_TOKENS_PER_RUN } from "../src/eval/seam/measureSeam.js";
import { sampleRows } from "../src/eval/seam/sampleRows.js";
import { DecoderModel } from "../src/nn/decoderModel.js";
import { loadTokenizer } from "../src/tokenizer/loadTokenizer.js";

const model = arg("model", DEFAULT_MODEL);
const data = arg("data", "embedded:heldout");
const tokens = Number(arg("tokens", "20000"));
const runs = Number(arg("runs", "5"));
const jsonFile = arg("json", "");

let context = 0;
let measured = 0;
const seam = async () => {
  const r = await measureSeam(model, { data, tokens });
  context = r.context;
  measured = r.sequences * r.context;
};
const perplexity = async () => {
  const tokenizer = await loadTokenizer(model);
  const dm = await DecoderModel.load(model);
  try {
    const ctx = defaultContext(dm);
    const ids: number[] = [];
    for await (const row of sampleRows(tokenizer, data, { tokens, context: ctx })) ids.push(...row);
    const batch = Math.max(1, Math.floor(SEAM_TOKENS_PER_RUN / ctx));
    await perplexityOfTokens(dm, ids, { context: ctx, stride: ctx, batch });
  } finally {
    await dm.release();
  }
};

console.log(`bench:seam  ${model}, ${tokens} tokens of ${data}, ${runs} runs after a warm-up`);
const s = spread(await timeRuns(runs, seam));
const p = spread(await timeRuns(runs, perplexity));
const rate = (sec: number) => measured / sec;
console.log(`tokens measured: ${measured} (rows of ${context})`);
console.log(
  `deepen seam          median ${s.median.toFixed(2)} s (${s.min.toFixed(2)}-${s.max.toFixed(2)})  ${rate(s.median).toFixed(0)} tokens/s`,
);
console.log(
  `forward, perplexity  median ${p.median.toFixed(2)} s (${p.min.toFixed(2)}-${p.max.toFixed(2)})  ${rate(p.median).toFixed(0)} tokens/s`,
);
console.log(`ratio seam / perplexity: ${(s.median / p.median).toFixed(2)}x the time`);
if (jsonFile) {
  const out = {
    model,
    data,
    tokens: measured,
    context,
    runs,
    seam: s,
    perplexity: p,
    ratio: s.median / p.median,
  };
  writeFileSync(jsonFile, JSON.stringify(out, null, 2) + "\n");
}
