// The demo's report as Markdown: what ran, the table, and what the numbers say, in plain words
// generated from the numbers (never a fixed claim).

import { formatCount } from "../formatCount.js";
import { type DemoResult, firstAtOrBelow, type RunResult } from "./runDemo.js";

const ppl = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));

/** One row per run: perplexity at step 0 and at the end, and when it first matched the base's start. */
export function demoTable(r: DemoResult): string[] {
  const baseStart = r.runs[0]!.evals[0]!.perplexity;
  const rows = [
    "| run | layers | parameters | held-out ppl, step 0 | held-out ppl, end | first eval ≤ base at step 0 | train tok/s |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const run of r.runs) {
    const at = run.key === "base" ? undefined : firstAtOrBelow(run.evals, baseStart);
    rows.push(
      `| ${run.label} | ${run.layers} | ${formatCount(run.parameters)} | ${ppl(run.evals[0]?.perplexity)} | ${ppl(run.evals.at(-1)?.perplexity)} | ${run.key === "base" ? "(reference)" : at ? `step ${at.step}` : "not reached"} | ${run.tokensPerSecond.toFixed(0)} |`,
    );
  }
  return rows;
}

function finding(r: DemoResult): string[] {
  const base = r.runs[0]!;
  const dus = r.runs.find((x) => x.key === "dus") as RunResult;
  const b0 = base.evals[0]!.perplexity;
  const d0 = dus.evals[0]!.perplexity;
  const bEnd = base.evals.at(-1)!.perplexity;
  const dEnd = dus.evals.at(-1)!.perplexity;
  const lines = [
    `- Stitching raised held-out perplexity from ${ppl(b0)} (base) to ${ppl(d0)} (DUS, step 0): ${d0 >= b0 ? `${((d0 / b0 - 1) * 100).toFixed(0)} % worse` : `${((1 - d0 / b0) * 100).toFixed(0)} % better`}.`,
  ];
  lines.push(
    r.dusRecoveredAt
      ? `- The DUS model was back at or below the base's starting perplexity at the evaluation after step ${r.dusRecoveredAt.step} (${formatCount(r.dusRecoveredAt.tokens)} tokens; evaluations every ${r.settings.evalEvery} steps).`
      : `- Within ${r.settings.steps} steps the DUS model did not get back to the base's starting perplexity.`,
  );
  lines.push(
    `- After ${r.settings.steps} steps: DUS ${ppl(dEnd)}, base (same batches) ${ppl(bEnd)}: the grown model is ${dEnd <= bEnd ? "ahead of" : "behind"} the control by ${Math.abs(dEnd - bEnd).toFixed(2)}.`,
  );
  return lines;
}

export function demoSummary(r: DemoResult): string {
  const s = r.settings;
  return [
    "# deepen demo: depth up-scaling and healing",
    "",
    `Run ${r.date} on ${r.machine} in ${(r.seconds / 60).toFixed(1)} min${r.command ? ` by \`${r.command}\`` : ""}.`,
    `Base: \`${r.base}\`. Every run trains ${s.steps} steps of ${s.batch} × ${s.seqLen} tokens on the same batches (seed ${s.seed}),`,
    `AdamW, cosine learning rate ${s.lr} → ${s.minLr} after ${s.warmup} warmup steps${s.quick ? " (--quick: a small sample of the training text)" : ""}.`,
    `Held-out perplexity is measured on the first ${s.evalSequences} sequences of ${s.seqLen} tokens of the held-out split (text never trained on), every ${s.evalEvery} steps.`,
    "",
    ...demoTable(r),
    "",
    ...finding(r),
    "",
    "![held-out loss against training tokens](loss.svg)",
    "",
    "Files: `metrics.jsonl` (every step of every run, with `run`), `loss.svg` and `loss.png`, `demo.json` (this table as data), `healed/` (the DUS model after healing, a Hugging Face folder).",
    "",
  ].join("\n");
}
