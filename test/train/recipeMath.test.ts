import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_MODEL } from "../../src/demo/runDemo.js";
import { runCli, tempDir } from "../helpers.js";

// Steps 3 and 4 of the recipe end to end on the embedded model, shortened (the README has the full
// runs): generated level-1 problems and preference pairs, SFT with chatml and new chat tokens, then
// DPO from the SFT model; exact match and preference accuracy on the held-out splits.
const root = tempDir();
const data = join(root, "math");
const sftRun = join(root, "sft");
type MathScore = { problems: number; correct: number; exact_match: number; no_answer: number };
const score = (model: string, extra: string[] = []): MathScore => {
  const r = runCli(["eval", model, "--math", join(data, "test.jsonl"), "--limit", "100", "--json", ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as MathScore;
};
let tuned: MathScore | undefined;

test("SFT on generated math lifts deepen-tiny's exact match on the test split above the base's", () => {
  const gen = runCli(["data", "math", "-o", data, "--n", "3000", "--seed", "3", "--levels", "1", "--rephrase", "2", "--preference"]); // prettier-ignore
  assert.equal(gen.code, 0, gen.stderr);
  const trained = runCli([
    "train", "sft", "--model", DEFAULT_MODEL, "--data", join(data, "train.jsonl"), "--out", sftRun,
    "--template", "chatml", "--add-chat-tokens", "--seq-len", "128", "--pack",
    "--max-steps", "120", "--lr", "2e-3", "--warmup", "10",
  ]); // prettier-ignore
  assert.equal(trained.code, 0, trained.stderr);
  const base = score(DEFAULT_MODEL, ["--template", "chatml"]);
  tuned = score(join(sftRun, "final"));
  assert.equal(tuned.problems, 100);
  assert.ok(tuned.correct > base.correct, `exact match ${base.exact_match} -> ${tuned.exact_match}`);
  // The base never writes GSM8K's answer line; the tuned model always does.
  assert.equal(base.no_answer, 100);
  assert.ok(tuned.no_answer <= 5, `${tuned.no_answer} answers without "#### N"`);
});

test("DPO on synthetic math pairs, from the SFT model: held-out preference accuracy well above 50 %, answers keep their form", () => {
  assert.ok(tuned, "the SFT test ran first");
  // A part of the pairs keeps the reference pass short.
  const part = (file: string, lines: number) => {
    const out = join(root, `part-${file}`);
    writeFileSync(out, readFileSync(join(data, file), "utf8").split("\n").slice(0, lines).join("\n") + "\n");
    return out;
  };
  const out = join(root, "dpo");
  const r = runCli([
    "train", "dpo", "--model", join(sftRun, "final"), "--data", part("pairs-train.jsonl", 640),
    "--eval-data", part("pairs-test.jsonl", 160), "--out", out, "--seq-len", "128", "--batch", "8",
    "--max-steps", "60", "--lr", "1e-4", "--eval-at-start", "--eval-every", "60", "--json",
  ]); // prettier-ignore
  assert.equal(r.code, 0, r.stderr);
  const run = JSON.parse(r.stdout) as {
    start_eval: Record<string, number>;
    last_eval: Record<string, number>;
  };
  assert.ok(Math.abs(run.start_eval.loss! - Math.LN2) < 1e-6, "the reference is the starting model");
  assert.ok(
    run.last_eval["rewards/accuracies"]! >= 0.65,
    `reward accuracy ${run.last_eval["rewards/accuracies"]}`,
  );
  assert.ok(run.last_eval["rewards/margins"]! > 0.3);
  // Exact match at this scale moves by a few of 100 problems either way between runs (5 -> 5 once,
  // 2 -> 0 another time: onnxruntime's threaded kernels are not bit-stable across machines and
  // loads), so what is asserted is what holds: the aligned model still answers in GSM8K's form.
  // Keeping exact match is issue 13's open point (README).
  const aligned = score(join(out, "final"));
  assert.ok(aligned.no_answer <= 50, `${aligned.no_answer} answers without "#### N"`);
});
