import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_MODEL } from "../../src/demo/runDemo.js";
import { writeSyntheticModel } from "../fixtures/syntheticModel.js";
import { runCli, tempDir } from "../helpers.js";

const root = tempDir("deepen-demo-");
const env = { DEEPEN_CACHE: join(root, "cache") };

interface Metric {
  run: string;
  step: number;
  loss?: number;
  eval_perplexity?: number;
}

test("deepen demo --steps 5 --quick runs end to end on deepen-tiny and writes every report file", () => {
  const out = join(root, "report");
  const r = runCli(["demo", "--steps", "5", "--quick", "--out", out], env);
  assert.equal(r.code, 0, r.stderr);
  // The stitching cost is printed as it is measured; the closing line names every file written.
  assert.match(r.stderr, /base, 8 layers \(control\): held-out perplexity [\d.]+ at step 0/);
  assert.match(r.stderr, /DUS m=2, 12 layers: held-out perplexity [\d.]+ at step 0/);
  assert.match(r.stdout, /--quick is a smoke test/);
  assert.match(
    r.stdout,
    /wrote .*report\/: summary\.md, loss\.svg, loss\.png, metrics\.jsonl, demo\.json and healed\/ \(the healed model\)/,
  );
  assert.match(r.stdout, /\| base, 8 layers \(control\) \| 8 \|/);
  assert.match(r.stdout, /\| DUS m=2, 12 layers \| 12 \|/);
  assert.deepEqual(readdirSync(out).sort(), [
    "demo.json",
    "healed",
    "loss.png",
    "loss.svg",
    "metrics.jsonl",
    "summary.md",
  ]);
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Metric);
  for (const run of ["base", "dus"]) {
    const steps = metrics.filter((m) => m.run === run).map((m) => m.step);
    assert.deepEqual(steps, [0, 1, 2, 3, 4, 5], run);
  }
  const result = JSON.parse(readFileSync(join(out, "demo.json"), "utf8")) as {
    base: string;
    settings: Record<string, unknown>;
    runs: { key: string; layers: number; evals: { step: number; perplexity: number }[] }[];
  };
  assert.equal(result.base, DEFAULT_MODEL);
  // The healing corpus by default, and snake_case keys as every deepen JSON.
  assert.equal(result.settings.heal_data, "brown:train");
  assert.equal(result.settings.heal_eval, "brown:heldout");
  assert.equal(result.settings.seq_len, 64);
  const [base, dus] = result.runs;
  // The same held-out sequences, so DUS at step 0 differs from the base only by the surgery.
  assert.equal(base!.evals[0]!.step, 0);
  assert.ok(
    Number.isFinite(dus!.evals[0]!.perplexity) && dus!.evals[0]!.perplexity !== base!.evals[0]!.perplexity,
  );
  const config = JSON.parse(readFileSync(join(out, "healed", "config.json"), "utf8")) as {
    num_hidden_layers: number;
  };
  assert.equal(config.num_hidden_layers, 12);
  assert.ok(!existsSync(join(out, "healed", "optimizer.safetensors")));
  const svg = readFileSync(join(out, "loss.svg"), "utf8");
  assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
  assert.match(svg, /Smoke test \(--quick, 5 steps\): not a healing result/);
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(summary, /^# deepen demo --quick: a smoke test/);
  assert.match(summary, /\| DUS m=2, 12 layers \| 12 \| 10\.\d+M \|/);
  // The healed model is a working model folder.
  const g = runCli(["generate", join(out, "healed"), "The", "--max-tokens", "4"]);
  assert.equal(g.code, 0, g.stderr);
});

test("demo --ablation adds the naive repeat, the seam-recommended cut, a model from scratch and block expansion (both ways)", async () => {
  const base = join(root, "tiny8");
  await writeSyntheticModel(base, {
    family: "llama",
    layers: 8,
    dtype: "F32",
    dims: { hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, headDim: 16 },
    config: { max_position_embeddings: 128 },
  });
  const out = join(root, "ablation");
  const r = runCli(
    ["demo", "--model", base, "--steps", "2", "--quick", "--ablation", "--out", out, "--json"],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { runs: { key: string; layers: number; evals: unknown[] }[] };
  // deepen seam measures the base and adds its cut for 12 layers, unless that cut is m = n/4 itself.
  assert.match(r.stderr, /deepen seam recommends .* for 12 layers/);
  const same = /that is the paper's m = n\/4 itself/.test(r.stderr);
  assert.deepEqual(
    j.runs.map((x) => [x.key, x.layers]),
    [
      ["base", 8],
      ["dus", 12],
      ["dus-m0", 16],
      ...(same ? [] : [["seam", 12]]),
      ["scratch", 12],
      ["expand-all", 12],
      ["expand-new", 12],
    ],
  );
  // Block expansion starts as the identity: its step-0 perplexity is the base's.
  const ppl0 = (k: string) =>
    (j.runs.find((x) => x.key === k)!.evals[0] as { perplexity: number }).perplexity;
  assert.ok(Math.abs(ppl0("expand-all") - ppl0("base")) < 1e-3 * ppl0("base"));
  assert.equal(
    (readFileSync(join(out, "loss.svg"), "utf8").match(/<polyline /g) ?? []).length,
    j.runs.length,
  );
});

test("demo: bad input is a one-line error and leaves an existing report untouched", async () => {
  const kept = join(root, "kept");
  mkdirSync(kept);
  writeFileSync(join(kept, "mine.txt"), "keep me");
  const six = join(root, "six");
  await writeSyntheticModel(six, {
    family: "llama",
    layers: 6,
    dims: { hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, headDim: 16 },
  });
  const cases: [string[], RegExp, number][] = [
    [["demo", "--steps", "0", "--out", join(root, "x")], /--steps 0: must be a positive integer/, 2],
    [
      ["demo", "--steps", "many", "--out", join(root, "x")],
      /--steps many: expected a non-negative integer/,
      2,
    ],
    [
      ["demo", "--out", kept],
      /--force will not replace .*kept: it holds 1 entry and is not a model, run, report/,
      1,
    ],
    [["demo", "--seeds", "0", "--out", join(root, "x")], /--seeds 0: must be a positive integer/, 2],
    [
      ["demo", "--heal-data", join(root, "nothing.txt"), "--out", join(root, "x")],
      /--heal-data .*nothing\.txt: name its held-out text with --heal-eval/,
      2,
    ],
    [["demo", "--model", join(root, "nothing"), "--out", join(root, "x")], /nothing: no such folder/, 1],
    [
      ["demo", "--model", six, "--out", join(root, "x")],
      /6 layers; the demo's recipe \(m = n\/4\) needs a multiple of 4/,
      2,
    ],
  ];
  for (const [args, re, code] of cases) {
    const r = runCli(args, env);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.equal(readFileSync(join(kept, "mine.txt"), "utf8"), "keep me");
  assert.ok(!existsSync(join(root, "x")));
});

test("demo --seeds 2 --heal-data embedded:train: both data orders run, figures are over seeds", () => {
  const out = join(root, "seeds");
  const r = runCli(
    [
      "demo",
      "--steps",
      "2",
      "--quick",
      "--seeds",
      "2",
      "--heal-data",
      "embedded:train",
      "--out",
      out,
      "--json",
    ],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    settings: { seeds: number[]; heal_eval: string };
    runs: { key: string; seeds: { seed: number; crossover?: unknown }[] }[];
  };
  assert.deepEqual(j.settings.seeds, [0, 1]);
  assert.equal(j.settings.heal_eval, "embedded:heldout");
  for (const run of j.runs)
    assert.deepEqual(
      run.seeds.map((s) => s.seed),
      [0, 1],
    );
  assert.ok("crossover" in j.runs[1]!.seeds[0]!);
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Metric & { seed: number });
  assert.deepEqual(
    [...new Set(metrics.map((m) => `${m.run}/${m.seed}`))],
    ["base/0", "dus/0", "base/1", "dus/1"],
  );
  assert.match(
    readFileSync(join(out, "summary.md"), "utf8"),
    /\| DUS m=2, 12 layers \| 12 \| 10\.\d+M \| [\d.]+ \| [\d.]+ ± [\d.]+ \| \d\/2 seeds/,
  );
});
