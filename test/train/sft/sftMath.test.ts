import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_MODEL } from "../../../src/demo/runDemo.js";
import { runCli, tempDir } from "../../helpers.js";

const root = tempDir();

// The recipe's step 3 end to end on the embedded model, shortened (the README has the full run):
// generated level-1 problems, SFT with chatml and new chat tokens, exact match on the held-out split.
test("SFT on generated math lifts deepen-tiny's exact match on the test split above the base's", () => {
  const data = join(root, "math");
  const run = join(root, "sft");
  const gen = runCli([
    "data",
    "math",
    "-o",
    data,
    "--n",
    "3000",
    "--seed",
    "3",
    "--levels",
    "1",
    "--rephrase",
    "2",
  ]);
  assert.equal(gen.code, 0, gen.stderr);
  const trained = runCli([
    "train", "sft", "--model", DEFAULT_MODEL, "--data", join(data, "train.jsonl"), "--out", run,
    "--template", "chatml", "--add-chat-tokens", "--seq-len", "128", "--pack",
    "--max-steps", "120", "--lr", "2e-3", "--warmup", "10",
  ]); // prettier-ignore
  assert.equal(trained.code, 0, trained.stderr);
  const score = (model: string, extra: string[] = []) => {
    const r = runCli([
      "eval",
      model,
      "--math",
      join(data, "test.jsonl"),
      "--limit",
      "100",
      "--json",
      ...extra,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      problems: number;
      correct: number;
      exact_match: number;
      no_answer: number;
    };
  };
  const base = score(DEFAULT_MODEL, ["--template", "chatml"]);
  const tuned = score(join(run, "final"));
  assert.equal(tuned.problems, 100);
  assert.ok(tuned.correct > base.correct, `exact match ${base.exact_match} -> ${tuned.exact_match}`);
  // The base never writes GSM8K's answer line; the tuned model always does.
  assert.equal(base.no_answer, 100);
  assert.ok(tuned.no_answer <= 5, `${tuned.no_answer} answers without "#### N"`);
});
