// Named sets of tasks. h6 is the Open LLM Leaderboard v1's six, the SOLAR paper's yardstick, with
// the Leaderboard's shot counts and the metric it reported for each; their files are looked for
// under --data-dir in the layouts people download them in. tiny needs no files at all.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.js";
import { TINY_TASKS } from "./tinySuite.js";

export interface SuiteTask {
  task: string;
  shots: number;
  /** Paths under --data-dir tried in order (files, or a folder for MMLU). */
  files: string[];
}

export const SUITES: Record<string, SuiteTask[]> = {
  h6: [
    {
      task: "arc_challenge",
      shots: 25,
      files: [
        "arc_challenge/ARC-Challenge-Test.jsonl",
        "ARC-Challenge/ARC-Challenge-Test.jsonl",
        "ARC-Challenge-Test.jsonl",
      ],
    },
    { task: "hellaswag", shots: 10, files: ["hellaswag/hellaswag_val.jsonl", "hellaswag_val.jsonl"] },
    { task: "mmlu", shots: 5, files: ["mmlu/data", "mmlu", "data"] },
    {
      task: "truthfulqa_mc2",
      shots: 0,
      files: ["truthfulqa/data/mc_task.json", "truthfulqa/mc_task.json", "mc_task.json"],
    },
    {
      task: "winogrande",
      shots: 5,
      files: ["winogrande/dev.jsonl", "winogrande_1.1/dev.jsonl", "dev.jsonl"],
    },
    { task: "gsm8k", shots: 5, files: ["gsm8k/test.jsonl", "grade_school_math/data/test.jsonl"] },
  ],
  tiny: TINY_TASKS.map((task) => ({ task, shots: -1, files: [] })),
};

/** The suite's tasks with the file found for each (undefined: not found, for --skip-missing). */
export function resolveSuite(
  name: string,
  dataDir: string | undefined,
): { task: SuiteTask; path?: string }[] {
  const suite = Object.hasOwn(SUITES, name) ? SUITES[name] : undefined; // not constructor, __proto__…
  if (!suite) throw new UsageError(`unknown suite ${name}: known are ${Object.keys(SUITES).join(", ")}`);
  if (name === "tiny") return suite.map((task) => ({ task }));
  if (!dataDir) throw new UsageError(`--suite ${name} reads the benchmark files from --data-dir DIR`);
  if (!existsSync(dataDir)) throw new UsageError(`--data-dir ${dataDir}: no such folder`);
  return suite.map((task) => ({
    task,
    path: task.files.map((f) => join(dataDir, f)).find((p) => existsSync(p)),
  }));
}
