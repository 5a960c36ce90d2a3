import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openModelFolder } from "../../src/checkpoint/modelFolder.js";
import { pretrain, type PretrainOptions } from "../../src/train/pretrain.js";
import { CLI, killOnceExists, fixture, modelTensors, readJson, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const corpus = join(root, "corpus");
mkdirSync(corpus);
const words = "the quick brown fox jumps over the lazy dog while the cat sat on the mat".split(" ");
let r = 7;
const rnd = () => (r = (r * 48271) % 2147483647) / 2147483647;
for (let d = 0; d < 24; d++) {
  const text = Array.from({ length: 120 }, () => words[Math.floor(rnd() * words.length)]).join(" ");
  writeFileSync(join(corpus, `doc${String(d).padStart(2, "0")}.txt`), text + ".\n");
}
const cache = join(root, "cache");
const base = (out: string): PretrainOptions => ({
  model,
  data: [corpus],
  out,
  seqLen: 32,
  batch: 2,
  lr: 3e-3,
  warmup: 2,
  maxSteps: 12,
  evalFraction: 0.1,
  evalEvery: 6,
  cacheDir: cache,
});
const args = (out: string, extra: string[] = []) => [
  "train",
  "pretrain",
  "--model",
  model,
  "--data",
  corpus,
  "--out",
  out,
  "--seq-len",
  "32",
  "--batch",
  "2",
  "--lr",
  "3e-3",
  "--warmup",
  "2",
  "--max-steps",
  "12",
  "--eval-fraction",
  "0.1",
  "--eval-every",
  "6",
  "--cache-dir",
  cache,
  ...extra,
];

test("the loss goes down; the run writes metrics, checkpoints and a final model that loads", async () => {
  const out = join(root, "run");
  const res = await pretrain({ ...base(out), saveEvery: 4, keepLast: 2 });
  assert.equal(res.steps, 12);
  assert.ok(res.lastLoss! < res.firstLoss! * 0.8, `loss ${res.firstLoss} -> ${res.lastLoss}`);
  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 12);
  assert.deepEqual(Object.keys(lines[5]).sort(), [
    "eval_loss",
    "eval_perplexity",
    "grad_norm",
    "loss",
    "lr",
    "step",
    "tokens",
    "tokens_per_s",
  ]);
  assert.equal(lines[11].tokens, 12 * 2 * 32);
  // --keep-last 2 keeps checkpoints 4 and 8 (12 is the final one).
  assert.deepEqual(
    readdirSync(out)
      .filter((f) => f.startsWith("checkpoint-"))
      .sort(),
    ["checkpoint-000004", "checkpoint-000008"],
  );
  const final = await openModelFolder(join(out, "final"));
  assert.equal(final.config.torch_dtype, "float32");
  assert.ok(readFileSync(join(out, "final", "README.md"), "utf8").includes("Continued pretraining"));
  const state = readJson(join(out, "final", "trainer_state.json"));
  assert.equal(state.finished, true);
  assert.equal((state.last_eval as { perplexity: number }).perplexity, res.lastEval!.perplexity);
});

test("a run killed with SIGKILL and resumed ends with the same weights, bit for bit", async () => {
  const straight = join(root, "straight");
  assert.equal(runCli(args(straight)).code, 0);
  const killed = join(root, "killed");
  await killOnceExists(args(killed, ["--save-every", "3"]), join(killed, "checkpoint-000006"), 10_000);
  assert.ok(!existsSync(join(killed, "final")), "killed before the end");
  const resumed = runCli(args(killed, ["--save-every", "3", "--resume"]));
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .*checkpoint-0000\d\d at step \d+/);
  const a = await modelTensors(join(straight, "final"));
  const b = await modelTensors(join(killed, "final"));
  for (const [name, t] of a) assert.ok(t.bytes.equals(b.get(name)!.bytes), `${name} identical`);
  // The resumed run's log reads as one run: each step once, with the uninterrupted run's losses.
  const log = (dir: string) =>
    readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: number; loss: number });
  assert.deepEqual(
    log(killed).map((r) => r.step),
    [...Array(12).keys()].map((i) => i + 1),
  );
  assert.deepEqual(
    log(killed).map((r) => r.loss),
    log(straight).map((r) => r.loss),
  );
});

test("--recompute trains the same run as keeping every activation, and the run records it", () => {
  const runs = ["plain", "recompute"].map((name) => {
    const out = join(root, `rc-${name}`);
    const extra = ["--max-steps", "4", "--eval-every", "4", ...(name === "recompute" ? ["--recompute"] : [])];
    const r = runCli(args(out, extra));
    assert.equal(r.code, 0, r.stderr);
    const losses = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { loss: number }).loss);
    const settings = readJson(join(out, "final", "trainer_state.json")).settings as Record<string, unknown>;
    return { losses, settings };
  });
  assert.equal(runs[1]!.losses.length, 4);
  runs[1]!.losses.forEach((l, i) =>
    assert.ok(Math.abs(l - runs[0]!.losses[i]!) < 1e-5, `step ${i + 1}: ${l}`),
  );
  assert.equal(runs[1]!.settings.recompute, true);
  assert.equal(runs[0]!.settings.recompute, undefined);
});

test("frozen parameters stay byte-identical; --train-layers trains only those layers", async () => {
  const out = join(root, "frozen");
  await pretrain({ ...base(out), trainLayers: "1", maxSteps: 3 });
  const before = await modelTensors(model);
  const after = await modelTensors(join(out, "final"));
  for (const [name, t] of before) {
    const same = t.bytes.equals(after.get(name)!.bytes);
    assert.equal(same, !name.startsWith("model.layers.1."), name);
  }
});

test("Ctrl-C saves a checkpoint and exits 130; --resume finishes the run", async () => {
  const out = join(root, "sigint");
  const child = spawn(process.execPath, [CLI, ...args(out, ["--max-steps", "400"])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
  for (let i = 0; i < 2000 && !existsSync(join(out, "metrics.jsonl")); i++)
    await new Promise((res) => setTimeout(res, 5));
  child.kill("SIGINT");
  assert.equal(await exited, 130);
  assert.match(stdout, /interrupted after step (\d+): saved .*checkpoint-0000\d\d; continue with --resume/);
  const step = Number(/after step (\d+)/.exec(stdout)![1]);
  assert.equal(
    readJson(join(out, `checkpoint-${String(step).padStart(6, "0")}`, "trainer_state.json")).step,
    step,
  );
});

test("a non-finite loss stops the run naming the step and the last good checkpoint", () => {
  const out = join(root, "nan");
  const r = runCli(args(out, ["--lr", "1e38", "--warmup", "0", "--clip", "0"]));
  assert.equal(r.code, 1);
  assert.match(
    r.stderr.trim().split("\n").pop()!,
    /^deepen: non-finite (loss|gradient) at step \d+; last good checkpoint: none \(the starting model\); --skip-nonfinite skips such batches$/,
  );
  const s = runCli(
    args(join(root, "nan-skip"), ["--lr", "1e38", "--warmup", "0", "--clip", "0", "--skip-nonfinite"]),
  );
  assert.equal(s.code, 1);
  assert.match(s.stderr, /batches in a row had non-finite values .* the model has diverged/);
});

test("bad inputs: one line each, non-zero exit", async () => {
  const empty = join(root, "empty");
  mkdirSync(empty);
  writeFileSync(join(empty, "a.txt"), "");
  const tiny = join(root, "tiny");
  mkdirSync(tiny);
  for (const f of ["a", "b", "c"]) writeFileSync(join(tiny, `${f}.txt`), "too short");
  const fileNotDir = join(root, "a-file");
  writeFileSync(fileNotDir, "x");
  const done = join(root, "run"); // finished by the first test
  const cases: [string[], RegExp][] = [
    [["--data", empty], /corpus|no tokens|empty/i],
    [["--data", tiny], /tokens?.*seq-len|needs? .*\d+ tokens/i],
    [
      ["--seq-len", "4096"],
      /--seq-len 4096: longer than the model's 2048 positions \(no rope_scaling extends it\)/,
    ],
    [
      ["--batch", "100000", "--seq-len", "2048"],
      /--batch 100000 x --seq-len 2048 needs about [\d.]+ GiB, more than the [\d.]+ GiB available/,
    ],
    [["--max-steps", "0"], /say how long to train|--max-steps/],
    [["--train-layers", "5-9"], /--train-layers 5-9: 5-9 is outside layers 0-1/],
    [["--train-layers", "new"], /names no new layers/],
  ];
  for (const [extra, re] of cases) {
    const out = join(root, `bad-${Math.random().toString(36).slice(2)}`);
    const a = args(out);
    for (let i = 0; i < extra.length; i += 2) {
      const k = a.indexOf(extra[i]!);
      if (k >= 0) a[k + 1] = extra[i + 1]!;
      else a.push(extra[i]!, extra[i + 1]!);
    }
    const res = runCli(a);
    assert.notEqual(res.code, 0, `${extra.join(" ")} should fail`);
    assert.equal(
      res.stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("deepen: ")).length,
      1,
      res.stderr,
    );
    assert.match(res.stderr, re);
  }
  // --force with a bad option fails before the old run is touched.
  const forced = runCli([...args(done), "--schedule", "cosin", "--force"]);
  assert.equal(forced.code, 2);
  assert.match(forced.stderr, /--schedule cosin: expected cosine, linear, constant/);
  assert.ok(existsSync(join(done, "final", "config.json")), "the finished run survives");
  // A trained checkpoint carries a complete lineage: inspect shows it.
  const ins = runCli(["inspect", join(done, "final")]);
  assert.equal(ins.code, 0, ins.stderr);
  assert.match(ins.stdout, /lineage:\n {2}base by deepen/);
  const finished = runCli(args(done));
  assert.equal(finished.code, 1);
  assert.match(finished.stderr, /holds a finished run; --force replaces it, --resume continues it/);
  const unwritable = runCli(args(join(fileNotDir, "out")));
  assert.equal(unwritable.code, 1);
  assert.match(unwritable.stderr, /cannot write .*a-file\/out: (ENOTDIR|EEXIST)/);
  const other = runCli(args(join(root, "straight"), ["--resume", "--seq-len", "16"]));
  assert.equal(other.code, 2);
  assert.match(other.stderr, /--resume .*: that run used a different seq_len \(32 vs 16\)/);
});

test("--resume: a changed schedule is refused unless overridden (and recorded); a finished run says so", () => {
  const out = join(root, "schedule");
  const first = runCli(args(out, ["--max-steps", "4", "--save-every", "2", "--eval-at-start"]));
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /^trained 4 steps in \d+ s, 256 tokens seen in all: held-out loss \d\.\d{4} \(perplexity [\d.]+\) -> \d\.\d{4} \(perplexity [\d.]+\); model in .*final\n$/,
  );
  const done = runCli(args(out, ["--max-steps", "4", "--resume"]));
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /the run is already finished at step 4; nothing to train/);
  const changed = runCli(args(out, ["--max-steps", "6", "--resume"]));
  assert.equal(changed.code, 2);
  assert.match(
    changed.stderr,
    /that run's schedule was cosine 0\.003 -> 0\.0003, warmup 2, 4 steps, this one is cosine 0\.003 -> 0\.0003, warmup 2, 6 steps; .*--override-schedule/,
  );
  const more = runCli(args(out, ["--max-steps", "6", "--resume", "--override-schedule"]));
  assert.equal(more.code, 0, more.stderr);
  assert.match(more.stderr, /schedule changed at step 4/);
  assert.match(more.stdout, /^trained 2 steps \(steps 5-6, resumed\)/);
  const state = readJson(join(out, "final", "trainer_state.json"));
  const history = (state.settings as { schedule_history: { from_step: number }[] }).schedule_history;
  assert.deepEqual(
    history.map((h) => h.from_step),
    [0, 4],
  );
});
