import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readTrainerState, TRAINER_STATE_FILE } from "../../src/train/trainCheckpoint.js";
import { tempDir } from "../helpers.js";

const root = tempDir();
const write = (name: string, state: Record<string, unknown>) => {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, TRAINER_STATE_FILE), JSON.stringify(state));
  return dir;
};

test("a checkpoint written before objectives existed resumes as pretraining at its data position", async () => {
  const dir = write("v1", {
    format: 1,
    step: 40,
    tokens_seen: 2560,
    epoch: 2,
    cursor: 6,
    skipped_nonfinite: 0,
    finished: false,
    fingerprint: {
      seq_len: 32,
      batch: 2,
      grad_accum: 1,
      seed: 0,
      data: "x",
      trainable: "y",
      base_config: "z",
    },
    settings: {},
  });
  const s = await readTrainerState(dir);
  assert.equal(s.objective, "pretrain");
  assert.deepEqual(s.data_position, { epoch: 2, cursor: 6 });
  assert.equal(s.step, 40);
});

test("a trainer state of an unknown format is refused, naming the file", async () => {
  const dir = write("v9", { format: 9 });
  await assert.rejects(readTrainerState(dir), /trainer_state\.json: format 9, expected 2/);
});

test("a damaged trainer state is named with what is wrong, not met as a crash on resume", async () => {
  const good = {
    format: 2,
    objective: "pretrain",
    step: 4,
    tokens_seen: 64,
    data_position: { epoch: 0, cursor: 8 },
    skipped_nonfinite: 0,
    finished: false,
    fingerprint: { seed: 0 },
    settings: {},
  };
  assert.equal((await readTrainerState(write("good", good))).step, 4);
  const cases: [Record<string, unknown> | null, RegExp][] = [
    [null, /not a JSON object/],
    [{ ...good, data_position: undefined }, /data_position must be a JSON object/],
    [{ ...good, fingerprint: [1] }, /fingerprint must be a JSON object/],
    [{ ...good, step: -1 }, /step must be a non-negative integer, got -1/],
    [{ ...good, objective: 3 }, /objective must be a string/],
    [{ ...good, settings: JSON.parse("[".repeat(200) + "]".repeat(200)) }, /nests deeper than 64 levels/],
  ];
  for (const [i, [state, re]] of cases.entries()) {
    await assert.rejects(
      readTrainerState(write(`bad${i}`, state as Record<string, unknown>)),
      (e: Error) =>
        e.name === "CheckpointError" && /trainer_state\.json: /.test(e.message) && re.test(e.message),
    );
  }
});
