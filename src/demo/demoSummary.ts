// The demo's report as Markdown: what ran, the table, and what the numbers say, in plain words
// generated from the numbers (never a fixed claim).

import { formatCount } from "../formatCount.js";
import { meanSd, staysAhead } from "./crossover.js";
import type { DemoResult, RunResult } from "./runDemo.js";

const ppl = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));

/** A figure over seeds: the value for one seed, mean ± standard deviation for several. */
function overSeeds(values: number[]): string {
  if (values.length === 1) return ppl(values[0]);
  const { mean, sd } = meanSd(values);
  return `${mean.toFixed(2)} ± ${sd.toFixed(2)}`;
}

const endPerplexities = (run: RunResult) => run.seeds.map((s) => s.evals.at(-1)!.perplexity);

/** "step 240" for one seed; "3/3 seeds, median step 240" for several; "not reached" when none. */
function crossoverCell(run: RunResult): string {
  if (run.key === "base") return "(control)";
  const steps = run.seeds
    .map((s) => s.crossover?.step)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  if (run.seeds.length === 1) return steps.length ? `step ${steps[0]}` : "not reached";
  if (steps.length === 0) return `0/${run.seeds.length} seeds`;
  return `${steps.length}/${run.seeds.length} seeds, median step ${steps[Math.floor((steps.length - 1) / 2)]}`;
}

/** One row per run: perplexity at step 0 and at the end, and when it first matched the control. */
export function demoTable(r: DemoResult): string[] {
  const rows = [
    "| run | layers | parameters | held-out ppl, step 0 | held-out ppl, end | first eval ≤ control at the same step | train tok/s |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const run of r.runs) {
    rows.push(
      `| ${run.label} | ${run.layers} | ${formatCount(run.parameters)} | ${ppl(run.evals[0]?.perplexity)} | ${overSeeds(endPerplexities(run))} | ${crossoverCell(run)} | ${run.tokensPerSecond.toFixed(0)} |`,
    );
  }
  return rows;
}

function finding(r: DemoResult): string[] {
  const base = r.runs[0]!;
  const dus = r.runs.find((x) => x.key === "dus")!;
  const b0 = base.evals[0]!.perplexity;
  const d0 = dus.evals[0]!.perplexity;
  const n = dus.seeds.length;
  const seedsWord = n > 1 ? ` (mean of ${n} seeds)` : "";
  const lines = [
    `- Stitching raised held-out perplexity from ${ppl(b0)} (base) to ${ppl(d0)} (DUS, step 0): ${d0 >= b0 ? `${((d0 / b0 - 1) * 100).toFixed(0)} % worse` : `${((1 - d0 / b0) * 100).toFixed(0)} % better`}.`,
  ];
  lines.push(
    r.dusRecoveredAt
      ? `- The DUS model was back at or below the base's starting perplexity at the evaluation after step ${r.dusRecoveredAt.step}${seedsWord} (${formatCount(r.dusRecoveredAt.tokens)} tokens; evaluations every ${r.settings.evalEvery} steps).`
      : `- Within ${r.settings.steps} steps the DUS model did not get back to the base's starting perplexity${seedsWord}.`,
  );
  if (r.dusCrossover) {
    const stays = staysAhead(base.evals, dus.evals, r.dusCrossover.step);
    lines.push(
      `- The DUS model first matched or passed the control at the same step at step ${r.dusCrossover.step}${seedsWord}, and ${stays ? "stayed at or ahead of it at every later evaluation" : "fell behind it again at a later evaluation"} (marked on the plot).`,
    );
  } else {
    lines.push(
      `- The DUS model never matched the control at the same step within ${r.settings.steps} steps${seedsWord}.`,
    );
  }
  const ends = dus.seeds.map((s, i) => base.seeds[i]!.evals.at(-1)!.perplexity - s.evals.at(-1)!.perplexity);
  const ahead = ends.filter((d) => d >= 0).length;
  const margin = meanSd(ends);
  lines.push(
    n === 1
      ? `- After ${r.settings.steps} steps: DUS ${ppl(dus.seeds[0]!.evals.at(-1)!.perplexity)}, control (same batches) ${ppl(base.seeds[0]!.evals.at(-1)!.perplexity)}: the grown model is ${ends[0]! >= 0 ? "ahead of" : "behind"} the control by ${Math.abs(ends[0]!).toFixed(2)}.`
      : `- After ${r.settings.steps} steps the DUS model ends ahead of the control in ${ahead} of ${n} seeds; its lead in held-out perplexity is ${margin.mean.toFixed(2)} ± ${margin.sd.toFixed(2)} (mean ± sd over seeds; negative means behind).`,
  );
  return lines;
}

export function demoSummary(r: DemoResult): string {
  const s = r.settings;
  const seeds =
    s.seeds.length === 1 ? `seed ${s.seeds[0]}` : `seeds ${s.seeds.join(", ")}, one data order each`;
  return [
    s.quick ? "# deepen demo --quick: a smoke test" : "# deepen demo: depth up-scaling and healing",
    "",
    ...(s.quick
      ? [
          "This run checks that every step of the recipe works end to end, in seconds. Its sample of text, short sequences and few steps are far too small for the figures below to say anything about healing; run `deepen demo` without `--quick` for that.",
          "",
        ]
      : []),
    `Run ${r.date} on ${r.machine} in ${(r.seconds / 60).toFixed(1)} min${r.command ? ` by \`${r.command}\`` : ""}.`,
    `Base: \`${r.base}\`. Every run trains ${s.steps} steps of ${s.batch} × ${s.seqLen} tokens of \`${s.healData}\` on the same batches (${seeds}),`,
    `AdamW, cosine learning rate ${s.lr} → ${s.minLr} after ${s.warmup} warmup steps${s.quick ? " (--quick: the first 300 KB of the training text, 64-token sequences)" : ""}.`,
    `Held-out perplexity is measured on the first ${s.evalSequences} sequences of ${s.seqLen} tokens of \`${s.healEval}\` (text never trained on), every ${s.evalEvery} steps.`,
    "",
    ...demoTable(r),
    "",
    ...finding(r),
    "",
    "![held-out loss against training tokens](loss.svg)",
    "",
    "Files: `metrics.jsonl` (every step of every run, with `run` and `seed`), `loss.svg` and `loss.png`, `demo.json` (this table as data, every seed's evaluations), `healed/` (the DUS model after healing, first seed, a Hugging Face folder).",
    "",
  ].join("\n");
}
