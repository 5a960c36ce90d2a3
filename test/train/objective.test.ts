// The run scaffold takes any objective: one defined here, outside src/train, trains, checkpoints
// its own data position, resumes exactly, and logs its own metrics, with no change to run.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readSafetensorsHeader } from "../../src/checkpoint/safetensorsHeader.js";
import { crossEntropy } from "../../src/nn/crossEntropy.js";
import { nextTokenBatch } from "../../src/train/nextTokenLoss.js";
import type { ObjectiveSpec } from "../../src/train/objective.js";
import { runTraining } from "../../src/train/run.js";
import { fixture, modelTensors, readJson, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const T = 12;

/** "Continue the pattern": rows of arithmetic sequences; only the second half of each row is scored. */
const copyObjective = (): ObjectiveSpec => ({
  method: "copy",
  title: "Pattern continuation",
  inputs: [],
  seqLen: T,
  rows: (batch) => batch,
  prepare: async ({ batch, microBatches }) => {
    let cursor = 0;
    const row = (k: number) =>
      Array.from({ length: T + 1 }, (_, t) => 40 + ((k * 3 + t * (1 + (k % 5))) % 60));
    return {
      // The loss plus a metric of its own: the mean probability of the right next token.
      loss: (g, dec, B, Tn) => {
        const ce = crossEntropy(g, dec.logits, B, Tn);
        const p = g.op("Exp", [g.op("Neg", [ce.nll])]);
        const meanP = g.op("ReduceMean", [p], { axes: [0, 1], keepdims: 0 });
        return { loss: ce.loss, metrics: { p_next: meanP } };
      },
      fingerprint: { seq_len: T, data: "copy-v1" },
      settings: { task: "copy" },
      nextStep: async () =>
        Array.from({ length: microBatches }, () => {
          const rows = Array.from({ length: batch }, () => row(cursor++));
          return nextTokenBatch(
            rows.map((r) => r.slice(0, T)),
            rows.map((r) => r.slice(1)),
            rows.map(() => Array.from({ length: T }, (_, t) => (t >= T / 2 ? 1 : 0))),
          );
        }),
      position: () => ({ cursor }),
      restore: (p) => void (cursor = p.cursor ?? 0),
      describe: () => `Rows of ${T} tokens`,
      close: async () => {},
    };
  },
});

const run = (out: string, extra: Record<string, unknown> = {}) =>
  runTraining({ model, out, batch: 2, lr: 1e-2, maxSteps: 6, seed: 0, ...extra }, copyObjective());

test("a new objective plugs into the scaffold: trains, logs its metric, resumes from its own data position", async () => {
  const straight = join(root, "straight");
  const r = await run(straight);
  assert.equal(r.steps, 6);
  const lines = readFileSync(join(straight, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(lines.every((l) => typeof l.p_next === "number" && l.p_next > 0 && l.p_next < 1));
  // Tokens seen count what the model read: 6 steps × 2 rows × 12 tokens.
  assert.equal(lines.at(-1).tokens, 6 * 2 * T);
  const state = readJson(join(straight, "final", "trainer_state.json"));
  assert.equal(state.objective, "copy");
  assert.deepEqual(state.data_position, { cursor: 12 });
  assert.match(
    readFileSync(join(straight, "final", "README.md"), "utf8"),
    /## Pattern continuation \(deepen\)/,
  );
  assert.equal(
    (readJson(join(straight, "final", "deepen.json")).training as { method: string }[]).at(-1)!.method,
    "copy",
  );

  const stopped = join(root, "stopped");
  let logged = 0;
  const first = await run(stopped, { onLog: () => logged++, interrupted: () => logged >= 3 });
  assert.equal(first.interrupted, true);
  const resumed = await run(stopped, { resume: true });
  assert.equal(resumed.startStep, 3);
  assert.equal(resumed.steps, 6);
  const a = await modelTensors(join(straight, "final"));
  const b = await modelTensors(join(stopped, "final"));
  for (const [name, t] of a) assert.ok(t.bytes.equals(b.get(name)!.bytes), `${name} identical after resume`);
  assert.ok((await readSafetensorsHeader(join(stopped, "final", "optimizer.safetensors"))).tensors.size > 0);

  // Another objective's checkpoint is not this run's to continue.
  await assert.rejects(
    runTraining(
      { model, out: stopped, batch: 2, maxSteps: 6, resume: true },
      { ...copyObjective(), method: "other" },
    ),
    /that run trained with copy, not other/,
  );
});
