// Runs one fuzz case's command line as a child process under a time and heap limit, and judges the
// run by the suite's properties.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { clip, type Prepared, type Workspace } from "./cases.js";
import { firstNonFinite, readOutputTensors, sha256, tensorDigest } from "./safetensorsOracle.js";

export const PROPERTIES = [
  "time-bound",
  "memory-bound",
  "no-internal-error",
  "one-line-error",
  "quiet-success",
  "no-wrong-result",
  "no-output-on-failure",
  "inputs-unchanged",
] as const;
export type Property = (typeof PROPERTIES)[number];

export interface Violation {
  property: Property;
  message: string;
}

export interface Limits {
  /** Wall-clock limit of one run; the child is killed past it. */
  timeoutMs: number;
  /** --max-old-space-size of the child. */
  heapMb: number;
  /** Peak resident memory a run may reach. */
  rssMb: number;
}

export interface CliRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
  rssMb?: number;
}

const OUTPUT_CAP = 1 << 20;
const probe = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "rssProbe.js")).href;

/** Runs `node CLI ...args` in `cwd` with the limits; never rejects. */
export function runCli(
  cli: string,
  args: string[],
  cwd: string,
  limits: Limits,
  rssFile: string,
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${limits.heapMb}`, "--import", probe, cli, ...args],
      {
        cwd,
        env: {
          ...process.env,
          DEEPEN_FUZZ_RSS_FILE: rssFile,
          DEEPEN_CACHE: join(cwd, "cache"),
          XDG_CACHE_HOME: join(cwd, "cache"),
          HF_HOME: join(cwd, "hf"),
          HF_HUB_CACHE: join(cwd, "hf", "hub"),
          HF_HUB_OFFLINE: "1", // an argument shaped like ORG/NAME must not reach the network
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length < OUTPUT_CAP) stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < OUTPUT_CAP) stderr += d.toString("utf8");
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limits.timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let rssMb: number | undefined;
      try {
        rssMb = Number(readFileSync(rssFile, "utf8")) / 1024;
      } catch {
        rssMb = undefined;
      }
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, timedOut, rssMb });
    });
  });
}

/** Every file under `dir`: relative path → sha256. */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), e.isFile() ? sha256(readFileSync(p)) : `(${statSync(p).mode})`);
    }
  };
  walk(dir);
  return out;
}

/** What a successful run produced, in comparable form: the kind of baseline decides how it is read. */
export function resultOf(baseline: string, ws: Workspace, run: CliRun): string {
  if (baseline === "inspect") {
    const j = JSON.parse(run.stdout.split(ws.inDir).join("<IN>")) as { shards?: { bytes?: number }[] };
    // A re-encoded header changes the file's size, never what inspect reports about the model.
    for (const s of j.shards ?? []) delete s.bytes;
    return JSON.stringify(j);
  }
  if (baseline === "eval") {
    const j = JSON.parse(run.stdout) as Record<string, unknown>;
    return JSON.stringify({ documents: j.documents, tokens: j.tokens, nll: j.nll, perplexity: j.perplexity });
  }
  return tensorDigest(readOutputTensors(ws.out));
}

/** The first line where two results differ, for the report. */
function firstDifference(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `clean: ${clip(x[i] ?? "(none)", 100)} | got: ${clip(y[i] ?? "(none)", 100)}`;
  }
  return "";
}

const firstLine = (s: string) => s.split("\n").find((l) => l.trim() !== "") ?? "";

/** Checks a finished run against every property. `before` hashes the inputs as written for the case. */
export function judge(
  p: Prepared,
  ws: Workspace,
  run: CliRun,
  limits: Limits,
  before: Map<string, string>,
  baselines: Map<string, string>,
): Violation[] {
  const v: Violation[] = [];
  const add = (property: Property, message: string) => v.push({ property, message });
  // Warnings (a parameter the method ignores, as mergekit does) may precede the result or the error.
  const lines = run.stderr
    .split("\n")
    .filter((l, i, all) => !(l === "" && i === all.length - 1) && !l.startsWith("deepen: warning: "));
  // V8's own out-of-memory death (the heap limit): a fatal error and SIGABRT, no catchable exception.
  const oom =
    /FATAL ERROR|JavaScript heap out of memory|Fatal process out of memory/.test(run.stderr) ||
    run.signal === "SIGABRT" ||
    run.code === 134;
  if (run.timedOut) add("time-bound", `killed after ${limits.timeoutMs} ms`);
  if (oom)
    add(
      "memory-bound",
      `${run.signal ?? `exit ${run.code}`}: ${clip(firstLine(run.stderr.slice(Math.max(0, run.stderr.search(/FATAL|heap out/)))), 160)}`,
    );
  else if (run.rssMb !== undefined && run.rssMb > limits.rssMb)
    add("memory-bound", `peak RSS ${run.rssMb.toFixed(0)} MB over the ${limits.rssMb} MB bound`);
  if (!run.timedOut && !oom) {
    if (run.code !== 0) {
      const internal =
        run.signal !== null
          ? `killed by ${run.signal}`
          : run.code !== 1 && run.code !== 2
            ? `exit status ${run.code}`
            : /^deepen: unexpected /m.test(run.stderr)
              ? clip(
                  run.stderr.split("\n").find((l) => l.startsWith("deepen: unexpected "))!,
                  200,
                )
              : /^\s+at .+[:(]/m.test(run.stderr)
                ? `stack trace: ${clip(firstLine(run.stderr), 160)}`
                : undefined;
      if (internal) add("no-internal-error", internal);
      else if (lines.length !== 1 || !lines[0]!.startsWith("deepen: "))
        add("one-line-error", `${lines.length} stderr lines: ${clip(JSON.stringify(run.stderr), 240)}`);
    } else {
      const stray = lines.filter((l) => !l.startsWith("note: "));
      if (stray.length) add("quiet-success", `exit 0 with stderr: ${clip(stray.join(" | "), 200)}`);
      wrongResult(p, ws, run, baselines, (m) => add("no-wrong-result", m));
    }
  }
  if (run.code !== 0 || run.timedOut) {
    if (existsSync(ws.out))
      add("no-output-on-failure", `${ws.out} exists after exit ${run.code ?? run.signal}`);
    else if (!run.timedOut && readdirSync(ws.outParent).length)
      add("no-output-on-failure", `left beside the output: ${readdirSync(ws.outParent).join(", ")}`);
  }
  const after = hashTree(ws.inDir);
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
    (k) => before.get(k) !== after.get(k),
  );
  if (changed.length)
    add(
      "inputs-unchanged",
      changed
        .map((k) => `${k} ${!after.has(k) ? "removed" : !before.has(k) ? "added" : "modified"}`)
        .join(", "),
    );
  return v;
}

function wrongResult(
  p: Prepared,
  ws: Workspace,
  run: CliRun,
  baselines: Map<string, string>,
  bad: (m: string) => void,
): void {
  if (p.expect.kind === "fail") return bad(`exit 0, but ${p.expect.why}`);
  if (p.writesOutput && !existsSync(ws.out)) return bad(`exit 0 without writing ${ws.out}`);
  let result: string;
  try {
    result = resultOf(p.baseline, ws, run);
  } catch (e) {
    return bad(`exit 0 with an unreadable result: ${clip((e as Error).message, 160)}`);
  }
  if (p.baseline === "eval") {
    const j = JSON.parse(result) as { nll: unknown; perplexity: unknown };
    if (!Number.isFinite(j.nll) || !Number.isFinite(j.perplexity))
      bad(`exit 0 printing nll ${JSON.stringify(j.nll)}, perplexity ${JSON.stringify(j.perplexity)}`);
  }
  if (p.writesOutput && p.finiteOutput) {
    const t = firstNonFinite(readOutputTensors(ws.out));
    if (t) bad(`exit 0 writing non-finite values in ${t}`);
  }
  const clean = baselines.get(p.baseline)!;
  if (p.expect.kind === "same" && result !== clean)
    bad(`exit 0 with a result unlike the clean input's (${firstDifference(clean, result)})`);
  if (p.expect.kind === "differ" && result === clean)
    bad(`exit 0 with the clean input's result: ${p.expect.why}`);
  const extra = p.check?.(ws.out);
  if (extra) bad(extra);
}
