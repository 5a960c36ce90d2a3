// npm run fuzz [-- --cases N] [--seed S] [--case I] [--jobs J] [--targets T,...] [--timeout-ms MS]
//              [--heap-mb MB] [--rss-mb MB] [--cli PATH] [--no-keep] [--json FILE]
// The fuzz suite of issue 15 (test/fuzz/): corrupted safetensors files, config.json, tokenizer
// files, merge configs and recipes, drawn by a seeded fast-check run, each run through the deepen
// CLI (inspect, upscale, eval --perplexity, merge, upscale --recipe) in a child process with a time
// limit and a heap limit, and checked: a refusal is one stderr line with no stack trace and no
// "unexpected"; exit 0 gives the clean input's result where the corruption is harmless, and never
// follows an invalid input; no output is left on failure; inputs are unchanged; time and memory stay
// bounded. Prints counts per target and property and every failing case with the command that runs
// it again (--seed S --case I); exit status 1 when any property fails.
// --cli fuzzes another build (a fixer's worktree: PATH/dist/src/cli/main.js). --case I runs case I
// of the seed's sequence alone. Failing cases' folders (their corrupted inputs) are kept unless --no-keep.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_CLI, formatReport, runFuzz, type Target, TARGETS } from "../test/fuzz/suite.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "500" },
    seed: { type: "string" },
    case: { type: "string" },
    jobs: { type: "string", default: "2" },
    targets: { type: "string" },
    "timeout-ms": { type: "string", default: "20000" },
    "heap-mb": { type: "string", default: "512" },
    "rss-mb": { type: "string", default: "1024" },
    cli: { type: "string" },
    "no-keep": { type: "boolean", default: false },
    json: { type: "string" },
  },
  strict: true,
});

function int(name: string, v: string | undefined, min = 0): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`fuzz: --${name} ${v}: expected an integer >= ${min}\n`);
    process.exit(2);
  }
  return n;
}

const targets = values.targets?.split(",").map((t) => t.trim()) as Target[] | undefined;
for (const t of targets ?? [])
  if (!TARGETS.includes(t)) {
    process.stderr.write(`fuzz: --targets ${t}: expected some of ${TARGETS.join(", ")}\n`);
    process.exit(2);
  }
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : int("seed", values.seed);
const only = values.case === undefined ? undefined : int("case", values.case);
const cases = int("cases", values.cases, 1);
let done = 0;
const total = only === undefined ? cases : 1;
const report = await runFuzz({
  cases,
  seed,
  only,
  jobs: int("jobs", values.jobs, 1),
  targets,
  cli: values.cli ?? DEFAULT_CLI,
  keep: !values["no-keep"],
  limits: {
    timeoutMs: int("timeout-ms", values["timeout-ms"], 1),
    heapMb: int("heap-mb", values["heap-mb"], 16),
    rssMb: int("rss-mb", values["rss-mb"], 16),
  },
  onCase: (o) => {
    done++;
    if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} cases`);
    if (only !== undefined)
      process.stdout.write(
        `case ${o.index}: ${o.target} / ${o.command}: ${o.detail}\n  deepen ${o.args.join(" ")}\n  exit ${o.code ?? o.signal} in ${o.ms} ms\n  stderr: ${o.stderr.trimEnd()}\n  expected of exit 0: ${o.expect.kind}${"why" in o.expect ? ` (${o.expect.why})` : ""}\n`,
      );
  },
});
if (process.stderr.isTTY) process.stderr.write("\n");
process.stdout.write(formatReport(report) + "\n");
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
process.exitCode = report.outcomes.some((o) => o.violations.length) ? 1 : 0;
