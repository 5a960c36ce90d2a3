import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { killOnceExists, fixture, modelTensors, readJson, runCli, tempDir } from "../../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const pairsFile = (name: string, n: number, edit: (i: number) => Record<string, unknown> = () => ({})) => {
  const file = join(root, name);
  const lines = Array.from({ length: n }, (_, i) => {
    const [x, y] = [(i * 7) % 50, (i * 13) % 40];
    return JSON.stringify({
      prompt: `${x} plus ${y}?`,
      chosen: `${x} + ${y} = ${x + y}`,
      rejected: `${x} + ${y} = ${x + y + 1}`,
      ...edit(i),
    });
  });
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
};
const data = pairsFile("pairs.jsonl", 40);
const args = (out: string, extra: string[] = []) => [
  "train", "dpo", "--model", model, "--data", data, "--out", out, "--seq-len", "128", "--batch", "2",
  "--lr", "1e-3", "--max-steps", "6", "--eval-fraction", "0.1", ...extra,
]; // prettier-ignore

test("a DPO run logs TRL's metrics, keeps its reference log-probabilities, and resumes after SIGKILL bit for bit", async () => {
  const straight = join(root, "straight");
  const first = runCli(args(straight, ["--save-every", "3"]));
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /reference pass: [\d.]+ s/);
  assert.match(first.stdout, /held-out loss .*reward accuracy/);
  const log = readFileSync(join(straight, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  for (const key of [
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "logps/chosen",
    "logps/rejected",
    "eval_rewards/accuracies",
  ])
    // prettier-ignore
    assert.ok(key in log.at(-1), `metrics.jsonl has ${key}`);
  assert.ok(existsSync(join(straight, "reference_logps.json")));
  const state = readJson(join(straight, "final", "trainer_state.json"));
  assert.equal(state.objective, "dpo");
  assert.match(readFileSync(join(straight, "final", "README.md"), "utf8"), /Preference alignment/);

  const killed = join(root, "killed");
  await killOnceExists(args(killed, ["--save-every", "3"]), join(killed, "checkpoint-000003"));
  assert.ok(!existsSync(join(killed, "final")), "killed before the end");
  const resumed = runCli(args(killed, ["--save-every", "3", "--resume"]));
  assert.equal(resumed.code, 0, resumed.stderr);
  // The reference is not run again: its log-probabilities come from the run folder.
  assert.match(resumed.stderr, /reference log-probabilities: reused from the run folder/);
  assert.doesNotMatch(resumed.stderr, /reference pass/);
  const a = await modelTensors(join(straight, "final"));
  const b = await modelTensors(join(killed, "final"));
  for (const [name, t] of a) assert.ok(t.bytes.equals(b.get(name)!.bytes), `${name} identical`);

  // Resuming with other data or another template: the cached log-probabilities do not fit.
  const other = pairsFile("other.jsonl", 40, (i) => ({ chosen: `about ${i}` }));
  const changed = [
    runCli(
      args(killed, ["--resume", "--max-steps", "9", "--override-schedule"]).map((a) =>
        a === data ? other : a,
      ),
    ),
    runCli(args(killed, ["--resume", "--max-steps", "9", "--override-schedule", "--template", "zephyr"])),
  ];
  for (const r of changed) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /reference_logps\.json: the reference log-probabilities were computed for another tokenized data/,
    );
  }

  // A damaged cache is named in one line, not fed to the step as NaNs or met as a crash.
  const cache = join(killed, "reference_logps.json");
  const c = JSON.parse(readFileSync(cache, "utf8")) as { train: number[] };
  writeFileSync(cache, JSON.stringify({ ...c, train: c.train.slice(1) }));
  const damaged = runCli(args(killed, ["--resume", "--max-steps", "9", "--override-schedule"]));
  assert.equal(damaged.code, 1, damaged.stderr);
  assert.match(
    damaged.stderr.trim().split("\n").at(-1)!,
    /reference_logps\.json: "train" must be 72 finite numbers: the file is damaged/,
  );
});

test("--rpo-alpha logs the chosen responses' NLL per step and per evaluation, and records alpha", () => {
  const out = join(root, "rpo");
  const r = runCli(args(out, ["--rpo-alpha", "1", "--max-steps", "2"]));
  assert.equal(r.code, 0, r.stderr);
  const log = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const last = log.at(-1);
  assert.ok(last.nll_loss > 0 && last.eval_nll_loss > 0, JSON.stringify(last));
  // The logged loss is the DPO term plus alpha times the NLL: above the DPO term alone.
  assert.ok(last.eval_loss > last.eval_nll_loss);
  const state = readJson(join(out, "final", "trainer_state.json")) as {
    fingerprint: Record<string, unknown>;
  };
  assert.equal(state.fingerprint.rpo_alpha, 1);
});

test("bad input: one line naming the problem, exit 2, nothing in --out", async () => {
  const other = await fixture(root, { family: "llama", layers: 1, dtype: "F32", dims: { vocab: 259 } });
  const same = pairsFile("same.jsonl", 4, (i) => ({
    rejected: `${(i * 7) % 50} + ${(i * 13) % 40} = ${((i * 7) % 50) + ((i * 13) % 40)}`,
  }));
  const cases: [string[], RegExp][] = [
    [["--beta", "0"], /--beta 0: must be > 0/],
    [["--loss", "kto"], /--loss kto: expected one of sigmoid, ipo, hinge/],
    [["--label-smoothing", "0.1", "--loss", "ipo"], /--label-smoothing applies to --loss sigmoid only/],
    [["--rpo-alpha", "-1"], /--rpo-alpha -1: must be a finite number >= 0/],
    [
      ["--ref", other],
      /--ref .*: its vocab_size is 259, .*'s 288; the reference must share the model's tokenizer/,
    ],
    [
      ["--seq-len", "8"],
      /no pair left to train on \(40 read: 0 with chosen identical to rejected, 40 longer than --seq-len 8/,
    ],
    [
      ["--data-is", same],
      /same.jsonl: every pair \(4\) has its chosen response identical to its rejected one/,
    ],
    [["--ref", other, "--ref-free"], /--ref and --ref-free contradict each other/],
    [["--template", "chatml"], /lacks; fine-tune with train sft --template chatml --add-chat-tokens first/],
  ];
  for (const [extra, message] of cases) {
    const out = join(root, `bad-${extra.join("-").replace(/\W/g, "")}`);
    // "--data-is FILE": that file instead of the pairs (--data takes several paths).
    const swap = extra[0] === "--data-is" ? extra[1] : undefined;
    const r = runCli(swap ? args(out).map((a) => (a === data ? swap : a)) : args(out, extra));
    assert.equal(r.code, 2, `${extra.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim().split("\n").at(-1)!, message);
    assert.ok(!existsSync(out), `${extra.join(" ")} left ${out}`);
  }
});
