// The terminal table of a task run: one line per task (and per MMLU subject when there are few),
// each metric with its standard error, and the suite's average of the main metrics.
import type { EvaluateResult } from "./evaluateTasks.js";
import type { TaskResult } from "./runTask.js";

/** Percent for scores in [0, 1]; perplexities as they are. */
function show(metric: string, value: number): string {
  return metric.includes("perplexity") || metric.startsWith("bits_per_byte")
    ? value.toFixed(3)
    : `${(100 * value).toFixed(1)}`;
}

/** Subjects are listed under their group when there are at most this many. */
const MAX_SUBTASK_LINES = 12;

export function taskTable(r: EvaluateResult): string {
  const rows: string[][] = [["task", "shots", "docs", "metric", "value", "± stderr"]];
  const line = (t: TaskResult, indent: string) => {
    for (const [k, v] of Object.entries(t.metrics)) {
      const mark = k === t.main && r.average !== undefined && !/perplexity|bits_per_byte/.test(k) ? " *" : "";
      rows.push([
        indent + t.task,
        String(t.shots),
        String(t.documents),
        k + mark,
        show(k, v.value),
        v.stderr === undefined ? "" : show(k, v.stderr),
      ]);
    }
  };
  for (const t of r.tasks) {
    line(t, "");
    if (t.subtasks && t.subtasks.length <= MAX_SUBTASK_LINES) for (const s of t.subtasks) line(s, "  ");
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const text = rows.map((row) =>
    row.map((cell, c) => (c >= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  "),
  );
  text.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const out = [text.join("\n")];
  const mcNote = "accuracies in %";
  if (r.average !== undefined)
    out.push(`average of the * metrics: ${(100 * r.average).toFixed(2)} (${mcNote})`);
  else out.push(`(${mcNote})`);
  for (const t of r.tasks)
    if (t.fewshotSource) out.push(`${t.task}: few-shot examples from ${t.fewshotSource}`);
  return out.join("\n");
}
