// The fuzz suite (issue 15): corrupted variants of fixture inputs drawn by a seeded fast-check run,
// each run through the deepen CLI as a child process and judged by the properties of runCase.ts.
// `npm run fuzz` (bench/fuzz.ts) and a short seeded run in `npm test` (test/fuzz/fuzz.test.ts) call runFuzz.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { writeSyntheticModel } from "../fixtures/syntheticModel.js";
import { type Clean, type Expect, type Prepared, type Workspace } from "./cases.js";
import { type ConfigCase, configCase, prepareConfig } from "./configCases.js";
import {
  hashTree,
  judge,
  type Limits,
  PROPERTIES,
  type Property,
  resultOf,
  runCli,
  type Violation,
} from "./runCase.js";
import { prepareSafetensors, type SafetensorsCase, safetensorsCase } from "./safetensorsCases.js";
import { validateSafetensors } from "./safetensorsOracle.js";
import { prepareTokenizer, type TokenizerCase, tokenizerCase } from "./tokenizerCases.js";
import {
  cleanYaml,
  MERGE_TEMPLATES,
  mergeYamlCase,
  prepareYaml,
  recipeCase,
  type TemplateName,
  type YamlCase,
} from "./yamlCases.js";

export const TARGETS = ["safetensors", "config", "tokenizer", "merge-yaml", "recipe"] as const;
export type Target = (typeof TARGETS)[number];
export type FuzzCase = SafetensorsCase | ConfigCase | TokenizerCase | YamlCase;

/** How often each target is drawn. */
const WEIGHTS: Record<Target, number> = {
  safetensors: 30,
  config: 25,
  tokenizer: 12,
  "merge-yaml": 22,
  recipe: 11,
};
const ARBITRARIES: Record<Target, fc.Arbitrary<FuzzCase>> = {
  safetensors: safetensorsCase,
  config: configCase,
  tokenizer: tokenizerCase,
  "merge-yaml": mergeYamlCase,
  recipe: recipeCase,
};

/** The case generator: one of the targets, then a corruption of it. */
export function caseArbitrary(targets: readonly Target[] = TARGETS): fc.Arbitrary<FuzzCase> {
  return fc.oneof(...targets.map((t) => ({ weight: WEIGHTS[t], arbitrary: ARBITRARIES[t] })));
}

/** The compiled CLI beside this file (dist/test/fuzz → dist/src/cli/main.js). */
export const DEFAULT_CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

/** The fixture models: llama, 2 layers, F32, one model.safetensors each (as small Hugging Face models ship). */
export const FIXTURE = { family: "llama", layers: 2, dtype: "F32", layout: "single" } as const;
const TEXT = "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.\n";

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Cases run at once. */
  jobs: number;
  limits: Limits;
  /** The CLI to fuzz (a fixer's build, say). */
  cli?: string;
  /** Run only case number `only` of the seed's sequence (reproduce it). */
  only?: number;
  targets?: readonly Target[];
  /** Keep the folders of failing cases (their corrupted inputs) and print where. */
  keep?: boolean;
  /** Called with each finished case. */
  onCase?: (o: CaseOutcome) => void;
}

export interface CaseOutcome {
  index: number;
  target: Target;
  command: string;
  kind: string;
  detail: string;
  expect: Expect;
  args: string[];
  code: number | null;
  signal: string | null;
  stderr: string;
  ms: number;
  rssMb?: number;
  violations: Violation[];
  /** The case's folder, when kept. */
  dir?: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  jobs: number;
  ms: number;
  root: string;
  limits: Limits;
  targets: readonly Target[];
  outcomes: CaseOutcome[];
}

function workspace(dir: string, cleanDir: string): Workspace {
  const inDir = join(dir, "in");
  mkdirSync(join(dir, "out"), { recursive: true });
  cpSync(cleanDir, inDir, { recursive: true });
  return {
    root: dir,
    inDir,
    a: join(inDir, "a"),
    b: join(inDir, "b"),
    text: join(inDir, "text.txt"),
    yaml: join(inDir, "config.yml"),
    outParent: join(dir, "out"),
    out: join(dir, "out", "model"),
  };
}

function commandOf(c: FuzzCase): string {
  if ("command" in c) return c.command;
  return c.target === "recipe" ? "upscale --recipe" : `merge:${c.template}`;
}

function prepare(c: FuzzCase, ws: Workspace, clean: Clean): Prepared {
  switch (c.target) {
    case "safetensors":
      return prepareSafetensors(c, ws, clean);
    case "config":
      return prepareConfig(c, ws, clean);
    case "tokenizer":
      return prepareTokenizer(c, ws, clean);
    default:
      return prepareYaml(c, ws, clean.layers);
  }
}

/** Writes the fixture models A and B and the text into `cleanDir`, and reads what corruptions start from. */
export async function writeClean(cleanDir: string): Promise<Clean> {
  await writeSyntheticModel(join(cleanDir, "a"), { ...FIXTURE, seed: 1 });
  await writeSyntheticModel(join(cleanDir, "b"), { ...FIXTURE, seed: 2 });
  writeFileSync(join(cleanDir, "text.txt"), TEXT);
  const safetensors = readFileSync(join(cleanDir, "a", "model.safetensors"));
  const v = validateSafetensors(safetensors);
  if (!v.ok) throw new Error(`the clean fixture is not valid safetensors: ${v.reason}`);
  const configText = readFileSync(join(cleanDir, "a", "config.json"), "utf8");
  const tokenizerText = readFileSync(join(cleanDir, "a", "tokenizer.json"), "utf8");
  const config = JSON.parse(configText) as Record<string, unknown>;
  return {
    safetensors,
    tensors: v.tensors,
    config,
    configText,
    tokenizer: JSON.parse(tokenizerText) as Record<string, unknown>,
    tokenizerText,
    vocabSize: config.vocab_size as number,
    layers: config.num_hidden_layers as number,
  };
}

/** Writes the fixtures, runs every command on them once (the clean results), then the cases. */
export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const cli = o.cli ?? DEFAULT_CLI;
  const targets = o.targets ?? TARGETS;
  const root = mkdtempSync(join(tmpdir(), `deepen-fuzz-${o.seed}-`));
  const cleanDir = join(root, "clean");
  const clean = await writeClean(cleanDir);

  // The clean results every "same" is compared with, from the same kind of workspace as the cases'.
  const baselines = new Map<string, string>();
  const baseRuns: [string, (ws: Workspace) => string[]][] = [
    ["inspect", (ws) => ["inspect", ws.a, "--json"]],
    ["upscale", (ws) => ["upscale", ws.a, "-o", ws.out, "--json"]],
    ["eval", (ws) => ["eval", ws.a, "--perplexity", ws.text, "--json"]],
    ...[...MERGE_TEMPLATES, "recipe" as TemplateName].map((t): [string, (ws: Workspace) => string[]] => [
      t === "recipe" ? "recipe" : `merge:${t}`,
      (ws) => {
        const y = cleanYaml(t, ws);
        writeFileSync(ws.yaml, y.text);
        return y.args;
      },
    ]),
  ];
  await Promise.all(
    baseRuns.map(async ([key, argsOf]) => {
      const ws = workspace(join(root, "baseline", key.replace(/\W/g, "-")), cleanDir);
      const args = argsOf(ws);
      const run = await runCli(
        cli,
        args,
        ws.root,
        { ...o.limits, timeoutMs: Math.max(o.limits.timeoutMs, 60_000) },
        join(ws.root, "rss"),
      );
      if (run.code !== 0)
        throw new Error(`the clean run of ${key} failed (${run.code ?? run.signal}): ${run.stderr}`);
      baselines.set(key, resultOf(key, ws, run));
    }),
  );

  const count = o.only === undefined ? o.cases : o.only + 1;
  const all = fc.sample(caseArbitrary(targets), { seed: o.seed, numRuns: count });
  const indices = o.only === undefined ? all.map((_, i) => i) : [o.only];
  const outcomes: CaseOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < indices.length) {
      const index = indices[next++]!;
      const c = all[index]!;
      const dir = join(root, "cases", String(index).padStart(6, "0"));
      const ws = workspace(dir, cleanDir);
      const p = prepare(c, ws, clean);
      const before = hashTree(ws.inDir);
      const run = await runCli(cli, p.args, ws.root, o.limits, join(ws.root, "rss"));
      let violations: Violation[];
      try {
        violations = judge(p, ws, run, o.limits, before, baselines);
      } catch (e) {
        violations = [{ property: "no-wrong-result", message: `judging failed: ${(e as Error).message}` }];
      }
      const keep = o.keep && violations.length > 0;
      if (!keep) rmSync(dir, { recursive: true, force: true });
      const outcome: CaseOutcome = {
        index,
        target: c.target,
        command: commandOf(c),
        kind: p.kind,
        detail: p.detail,
        expect: p.expect,
        args: p.args.map((a) => a.split(ws.inDir).join("IN").split(ws.outParent).join("OUT")),
        code: run.code,
        signal: run.signal,
        stderr: run.stderr,
        ms: run.ms,
        rssMb: run.rssMb,
        violations,
        dir: keep ? dir : undefined,
      };
      outcomes.push(outcome);
      o.onCase?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  outcomes.sort((a, b) => a.index - b.index);
  if (!o.keep || outcomes.every((x) => !x.dir)) rmSync(root, { recursive: true, force: true });
  else {
    rmSync(join(root, "baseline"), { recursive: true, force: true });
  }
  return {
    seed: o.seed,
    cases: indices.length,
    jobs: o.jobs,
    ms: Date.now() - started,
    root,
    limits: o.limits,
    targets,
    outcomes,
  };
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const padL = (s: string | number, n: number) => String(s).padStart(n);

/** How to run one case again. */
export function reproCommand(r: FuzzReport, index: number): string {
  const t = r.targets.length === TARGETS.length ? "" : ` --targets ${r.targets.join(",")}`;
  return `npm run fuzz -- --seed ${r.seed} --case ${index}${t}`;
}

/** The report: counts per target and command, per property, then every failing case grouped by cause. */
export function formatReport(r: FuzzReport): string {
  const out: string[] = [];
  const failed = r.outcomes.filter((o) => o.violations.length > 0);
  out.push(
    `fuzz: seed ${r.seed}, ${r.cases} cases, ${r.jobs} jobs, ${(r.ms / 1000).toFixed(1)} s; limits ${r.limits.timeoutMs} ms, heap ${r.limits.heapMb} MB, RSS ${r.limits.rssMb} MB`,
  );
  out.push(
    "",
    `${pad("target", 12)}${pad("command", 20)}${padL("cases", 6)}${padL("exit 0", 8)}${padL("refused", 9)}${padL("failing", 9)}${padL("max s", 7)}${padL("max MB", 8)}`,
  );
  const groups = new Map<string, CaseOutcome[]>();
  for (const o of r.outcomes) {
    const k = `${o.target}\t${o.command}`;
    groups.set(k, [...(groups.get(k) ?? []), o]);
  }
  for (const [k, list] of [...groups].sort()) {
    const [target, command] = k.split("\t");
    out.push(
      `${pad(target!, 12)}${pad(command!, 20)}${padL(list.length, 6)}${padL(list.filter((o) => o.code === 0).length, 8)}${padL(list.filter((o) => o.code !== 0).length, 9)}${padL(list.filter((o) => o.violations.length).length, 9)}${padL((Math.max(...list.map((o) => o.ms)) / 1000).toFixed(1), 7)}${padL(Math.max(...list.map((o) => o.rssMb ?? 0)).toFixed(0), 8)}`,
    );
  }
  out.push("", `${pad("property", 22)}${padL("failing cases", 14)}`);
  for (const p of PROPERTIES)
    out.push(
      `${pad(p, 22)}${padL(r.outcomes.filter((o) => o.violations.some((v) => v.property === p)).length, 14)}`,
    );
  out.push("", `${failed.length} of ${r.cases} cases fail a property.`);
  if (failed.length) {
    // Grouped by property, target, command and corruption kind: one cause per group, as a fixer sees it.
    const byCause = new Map<string, { o: CaseOutcome; v: Violation }[]>();
    for (const o of failed)
      for (const v of o.violations) {
        const k = `${v.property}\t${o.target}\t${o.command}\t${o.kind}`;
        byCause.set(k, [...(byCause.get(k) ?? []), { o, v }]);
      }
    out.push("", "failures by property, target, command and corruption:");
    for (const [k, list] of [...byCause].sort(
      (a, b) =>
        PROPERTIES.indexOf(a[0].split("\t")[0] as Property) -
          PROPERTIES.indexOf(b[0].split("\t")[0] as Property) || (a[0] < b[0] ? -1 : 1),
    )) {
      const [property, target, command, kind] = k.split("\t");
      out.push(
        `  [${property}] ${target} / ${command} / ${kind}: ${list.length} case${list.length > 1 ? "s" : ""}`,
      );
      for (const { o, v } of list.slice(0, 3))
        out.push(
          `      #${o.index} ${o.detail}\n         -> ${v.message}\n         (exit ${o.code ?? o.signal}; ${reproCommand(r, o.index)})`,
        );
      if (list.length > 3)
        out.push(
          `      … and #${list
            .slice(3)
            .map(({ o }) => o.index)
            .join(", #")}`,
        );
    }
    out.push("", "failing cases:");
    for (const o of failed)
      out.push(
        `  #${o.index} ${o.target} / ${o.command}: ${o.detail} -> ${o.violations.map((v) => v.property).join(", ")}; ${reproCommand(r, o.index)}${o.dir ? `; kept at ${o.dir}` : ""}`,
      );
  }
  return out.join("\n");
}
