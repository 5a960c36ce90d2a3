// `deepen eval --task … / --suite …`: every named task on one model, loaded once, and the results in
// lm-evaluation-harness's JSON shape.
import { UsageError } from "../../errors.js";
import { DecoderModel } from "../../nn/decoderModel.js";
import type { SessionOptions } from "../../runtime/session.js";
import { loadTokenizer } from "../../tokenizer/loadTokenizer.js";
import { VERSION } from "../../version.js";
import { DEFAULT_CONTEXT_CAP } from "../perplexityOfText.js";
import { type EvalModel, runTask, runTaskOnPath, type TaskResult, type TaskRunOptions } from "./runTask.js";
import { resolveSuite } from "./suites.js";
import { loadTask } from "./taskSpec.js";
import { TINY_TASKS, type TinyTask, tinyDocs } from "./tinySuite.js";

/** One task to run: a built-in name or a task file, and its data (none for the tiny tasks). */
export interface TaskRequest {
  task: string;
  path?: string;
  /** Shots a suite sets (the task's own num_fewshot otherwise, or --shots). */
  shots?: number;
}

export interface EvaluateOptions extends Omit<TaskRunOptions, "shots">, SessionOptions {
  shots?: number;
  addBos?: boolean;
  /** Longest sequence scored (--context; default: the model's positions, at most DEFAULT_CONTEXT_CAP). */
  maxLength?: number;
  onTaskStart?: (task: string, index: number, total: number) => void;
}

export interface EvaluateResult {
  model: string;
  tasks: TaskResult[];
  /** The mean of the tasks' main metrics (perplexities left out), as the Leaderboard averaged H6. */
  average?: number;
}

/** A task argument: NAME=PATH, FILE.yaml=PATH, or a tiny task's NAME. */
export function parseTaskArg(arg: string): TaskRequest {
  const eq = arg.indexOf("=");
  if (eq < 0) {
    if ((TINY_TASKS as readonly string[]).includes(arg)) return { task: arg };
    throw new UsageError(`--task ${arg}: give NAME=PATH (a built-in task or a task file, and its data)`);
  }
  const task = arg.slice(0, eq);
  const path = arg.slice(eq + 1);
  if (!task || !path) throw new UsageError(`--task ${arg}: give NAME=PATH`);
  return { task, path };
}

/** The suite's tasks; missing files are an error unless `skipMissing` (then noted and left out). */
export function suiteRequests(
  suite: string,
  dataDir: string | undefined,
  skipMissing: boolean,
  note: (m: string) => void,
): TaskRequest[] {
  const out: TaskRequest[] = [];
  for (const { task, path } of resolveSuite(suite, dataDir)) {
    if (suite !== "tiny" && !path) {
      const msg = `${task.task}: none of ${task.files.join(", ")} under ${dataDir}`;
      if (!skipMissing) throw new UsageError(`${msg} (--skip-missing runs the others)`);
      note(`skipped ${msg}`);
      continue;
    }
    out.push({ task: task.task, path, shots: task.shots >= 0 ? task.shots : undefined });
  }
  return out;
}

export async function evaluateTasks(
  modelDir: string,
  requests: TaskRequest[],
  o: EvaluateOptions,
): Promise<EvaluateResult> {
  if (requests.length === 0) throw new UsageError("no task to run");
  // Every task file is read and checked before the model loads.
  const specs = await Promise.all(requests.map((r) => loadTask(r.task)));
  specs.forEach((s, i) => {
    const tiny = (TINY_TASKS as readonly string[]).includes(s.task);
    if (!tiny && !requests[i]!.path)
      throw new UsageError(`--task ${s.task}: give its data as ${s.task}=PATH`);
  });
  const tokenizer = await loadTokenizer(modelDir);
  const model = await DecoderModel.load(modelDir, { device: o.device });
  try {
    const positions = model.decoder.config.max_position_embeddings ?? DEFAULT_CONTEXT_CAP;
    if (o.maxLength !== undefined && o.maxLength > positions)
      throw new UsageError(`--context ${o.maxLength}: the model has ${positions} positions`);
    const m: EvalModel = {
      model,
      tokenizer,
      // The harness uses the model's whole length; deepen's attention masks are materialised, so
      // it stops at DEFAULT_CONTEXT_CAP unless --context says more.
      maxLength: o.maxLength ?? Math.min(DEFAULT_CONTEXT_CAP, positions),
      // As the harness: Gemma models always get their BOS (they score far worse without it).
      addBos: !!o.addBos || /gemma/i.test(model.decoder.family.family),
    };
    const tasks: TaskResult[] = [];
    for (const [i, spec] of specs.entries()) {
      const req = requests[i]!;
      o.onTaskStart?.(spec.task, i, specs.length);
      const ro: TaskRunOptions = { ...o, shots: o.shots ?? req.shots };
      if (!req.path) {
        const { evalSet, pool } = await tinyDocs(spec.task as TinyTask);
        tasks.push(await runTask(m, spec, evalSet, pool, ro));
      } else tasks.push(await runTaskOnPath(m, spec, req.path, ro));
    }
    // Perplexities are not scores in [0, 1]: they stay out of the average.
    const scored = tasks.filter((t) => !/perplexity|bits_per_byte/.test(t.main));
    const average =
      scored.length > 1
        ? scored.reduce((a, t) => a + t.metrics[t.main]!.value, 0) / scored.length
        : undefined;
    return { model: modelDir, tasks, average };
  } finally {
    await model.release();
  }
}

/** The harness's results JSON: results[task][metric] and [metric_stderr] (a filter's name after a
 * comma, as the harness writes `exact_match,strict-match`), plus the run's configuration. */
export function harnessJson(r: EvaluateResult, config: Record<string, unknown>): Record<string, unknown> {
  // Entries, not assignments: a task may be named __proto__, which assignment would swallow.
  const results: [string, Record<string, unknown>][] = [];
  const add = (t: TaskResult) => {
    const entry: Record<string, unknown> = { alias: t.task, documents: t.documents };
    for (const [k, v] of Object.entries(t.metrics)) {
      entry[k] = v.value;
      const [metric, filter] = k.split(",");
      if (v.stderr !== undefined)
        entry[filter ? `${metric}_stderr,${filter}` : `${metric}_stderr`] = v.stderr;
    }
    results.push([t.task, entry]);
    t.subtasks?.forEach(add);
  };
  r.tasks.forEach(add);
  return {
    results: Object.fromEntries(results),
    ...(r.average !== undefined
      ? {
          average: r.average,
          average_of: Object.fromEntries(
            r.tasks.filter((t) => !/perplexity|bits_per_byte/.test(t.main)).map((t) => [t.task, t.main]),
          ),
        }
      : {}),
    "n-shot": Object.fromEntries(r.tasks.map((t) => [t.task, t.shots])),
    "n-samples": Object.fromEntries(r.tasks.map((t) => [t.task, t.documents])),
    fewshot_sources: Object.fromEntries(
      r.tasks.flatMap((t) => (t.fewshotSource ? [[t.task, t.fewshotSource]] : [])),
    ),
    config: { model: r.model, ...config, deepen_version: VERSION },
  };
}
