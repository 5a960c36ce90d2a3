// What a kill or a full disk leaves in a run folder must never stop --resume: a checkpoint's
// temporary folder, a save that was replacing a checkpoint, a torn last line of metrics.jsonl.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { OutputError } from "../../src/errors.js";
import { pretrain, type PretrainOptions } from "../../src/train/pretrain.js";
import { CLI, fixture, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const corpus = join(root, "corpus");
mkdirSync(corpus);
const words = "the quick brown fox jumps over the lazy dog while the cat sat on the mat".split(" ");
let r = 11;
const rnd = () => (r = (r * 48271) % 2147483647) / 2147483647;
for (let d = 0; d < 12; d++) {
  const text = Array.from({ length: 120 }, () => words[Math.floor(rnd() * words.length)]).join(" ");
  writeFileSync(join(corpus, `doc${String(d).padStart(2, "0")}.txt`), text + ".\n");
}
const cache = join(root, "cache");
const base = (out: string): PretrainOptions => ({
  model,
  data: [corpus],
  out,
  seqLen: 16,
  batch: 1,
  lr: 1e-3,
  warmup: 1,
  maxSteps: 8,
  saveEvery: 2,
  cacheDir: cache,
});

/** A run stopped (as Ctrl-C stops one) after `steps` steps: checkpoints up to there, no final/. */
async function stoppedRun(out: string, steps: number): Promise<void> {
  let done = 0;
  const res = await pretrain({
    ...base(out),
    onLog: (rec) => (done = rec.step),
    interrupted: () => done >= steps,
  });
  assert.equal(res.interrupted, true);
}

const metricSteps = (out: string) =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { step: number }).step);
const oneToEight = [1, 2, 3, 4, 5, 6, 7, 8];

test("--resume removes the temporary folders a killed save left in the run folder, and nothing else", async () => {
  const out = join(root, "leftovers");
  await stoppedRun(out, 4);
  // What SIGKILL during saves leaves (pids past any pid_max: their processes are gone).
  const stale = [
    ".checkpoint-000006.deepen-tmp-99999999-0a1b2c3d",
    ".final.deepen-tmp-99999998-deadbeef",
    ".deepen-lock.deepen-tmp-99999997-00ff00ff",
  ];
  for (const d of stale.slice(0, 2)) {
    mkdirSync(join(out, d));
    writeFileSync(join(out, d, "model-00001-of-00001.safetensors"), Buffer.alloc(4096));
  }
  writeFileSync(join(out, stale[2]!), "99999997\n");
  writeFileSync(join(out, ".metrics.jsonl.deepen-tmp-99999996-12345678"), '{"step":1}\n');
  // A checkpoint moved aside whose replacement did land.
  const aside = ".checkpoint-000002.deepen-old-99999999-0a1b2c3d-0";
  mkdirSync(join(out, aside));
  // A lock of a killed run is taken over.
  writeFileSync(join(out, ".deepen-lock"), "99999995\n");
  // Names that are not deepen's temporary ones, and a temporary folder outside the run folder.
  const kept = [".checkpoint-000006.deepen-tmp-notes", "my-notes.txt"];
  for (const f of kept) writeFileSync(join(out, f), "mine\n");
  const outside = join(root, ".leftovers-sibling.deepen-tmp-99999999-0a1b2c3d");
  mkdirSync(outside);

  const notes: string[] = [];
  const res = await pretrain({ ...base(out), resume: true, onNote: (m) => notes.push(m) });
  assert.equal(res.startStep, 4);
  assert.equal(res.steps, 8);
  const names = readdirSync(out);
  for (const d of [...stale, ".metrics.jsonl.deepen-tmp-99999996-12345678", aside, ".deepen-lock"])
    assert.ok(!names.includes(d), `${d} removed`);
  for (const f of kept) assert.ok(names.includes(f), `${f} kept`);
  assert.ok(existsSync(outside), "only the run folder is cleaned");
  assert.ok(
    notes.some((n) => /removed 5 temporary folders or files an interrupted save left in /.test(n)),
    notes.join("\n"),
  );
  assert.deepEqual(metricSteps(out), oneToEight);
});

test("--resume puts back a checkpoint whose replacement was interrupted between the two renames", async () => {
  const out = join(root, "moved-aside");
  await stoppedRun(out, 4);
  // Killed after moving checkpoint-000004 aside, before the new one landed.
  renameSync(join(out, "checkpoint-000004"), join(out, ".checkpoint-000004.deepen-old-99999999-0a1b2c3d-0"));
  const notes: string[] = [];
  const res = await pretrain({ ...base(out), resume: true, onNote: (m) => notes.push(m) });
  assert.equal(res.startStep, 4, notes.join("\n"));
  assert.ok(notes.some((n) => /restored .*checkpoint-000004/.test(n)));
  assert.deepEqual(metricSteps(out), oneToEight);
});

test("--resume drops a torn last line of metrics.jsonl; a damaged line before it is named", async () => {
  const out = join(root, "torn");
  await stoppedRun(out, 4);
  appendFileSync(join(out, "metrics.jsonl"), '{"step":5,"tokens":80,"loss":2.7');
  const res = await pretrain({ ...base(out), resume: true });
  assert.equal(res.startStep, 4);
  assert.deepEqual(metricSteps(out), oneToEight);

  const damaged = join(root, "damaged");
  await stoppedRun(damaged, 4);
  const lines = readFileSync(join(damaged, "metrics.jsonl"), "utf8").split("\n");
  lines[1] = lines[1]!.slice(0, 9);
  writeFileSync(join(damaged, "metrics.jsonl"), lines.join("\n"));
  await assert.rejects(pretrain({ ...base(damaged), resume: true }), (e: Error) => {
    assert.equal(e.name, "CheckpointError");
    assert.match(
      e.message,
      /metrics\.jsonl: line 2 is not a metrics record; remove it, then --resume again$/,
    );
    return true;
  });
  assert.ok(existsSync(join(damaged, "checkpoint-000004")));
});

test(
  "a full disk while appending metrics stops with one line that names the checkpoint kept; --resume goes on",
  {
    skip: !existsSync("/dev/full") && "needs /dev/full",
  },
  async () => {
    const out = join(root, "full");
    const metrics = join(out, "metrics.jsonl");
    let logged = "";
    // After step 3 is logged, every write to metrics.jsonl fails with ENOSPC (/dev/full).
    const full = pretrain({
      ...base(out),
      onLog: (rec) => {
        if (rec.step !== 3) return;
        logged = readFileSync(metrics, "utf8");
        rmSync(metrics);
        symlinkSync("/dev/full", metrics);
      },
    });
    await assert.rejects(full, (e: Error) => {
      assert.ok(e instanceof OutputError, `${e.name}: ${e.message}`);
      assert.match(
        e.message,
        /^cannot write .*metrics\.jsonl \(no space left on the device\); training stopped, .*checkpoint-000002 is kept: free space, then --resume continues from it$/,
      );
      return true;
    });
    assert.ok(existsSync(join(out, "checkpoint-000002", "trainer_state.json")));
    // Space is freed; the append that failed may have written part of its line.
    rmSync(metrics);
    writeFileSync(metrics, logged + '{"step":4,"tok');
    const res = await pretrain({ ...base(out), resume: true });
    assert.equal(res.startStep, 2);
    assert.deepEqual(metricSteps(out), oneToEight);
  },
);

test("two training commands writing the same run folder at once: one trains, the other is refused", async () => {
  for (let round = 0; round < 3; round++) {
    const out = join(root, `twice-${round}`);
    const args = [
      "train",
      "pretrain",
      "--model",
      model,
      "--data",
      corpus,
      "--out",
      out,
      "--seq-len",
      "16",
      "--batch",
      "1",
      "--max-steps",
      "8",
      "--save-every",
      "2",
      "--cache-dir",
      cache,
    ];
    const start = () => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      return new Promise<{ code: number | null; stderr: string }>((res) =>
        child.on("close", (code) => res({ code, stderr })),
      );
    };
    const results = await Promise.all([start(), start()]);
    const ok = results.filter((x) => x.code === 0);
    const refused = results.filter((x) => x.code !== 0);
    assert.equal(ok.length, 1, results.map((x) => x.stderr).join("\n"));
    assert.equal(refused[0]!.code, 1);
    // Notes (the token cache reused) may come first; the error is one line.
    const errors = refused[0]!.stderr.split("\n").filter((l) => l.startsWith("deepen: "));
    assert.equal(errors.length, 1, refused[0]!.stderr);
    assert.match(
      errors[0]!,
      /^deepen: .* (is being written by another deepen command \(process \d+\)|holds a finished run)/,
    );
    assert.deepEqual(metricSteps(out), oneToEight);
    assert.ok(!existsSync(join(out, ".deepen-lock")), "the lock is released");
  }
});

test("a run folder another live process holds is refused in one line, and its lock left alone", async () => {
  const out = join(root, "held");
  mkdirSync(out);
  // The test runner's parent: a live process that is not this one.
  writeFileSync(join(out, ".deepen-lock"), `${process.ppid}\n`);
  await assert.rejects(pretrain(base(out)), (e: Error) => {
    assert.ok(e instanceof OutputError);
    assert.equal(
      e.message,
      `${out} is being written by another deepen command (process ${process.ppid}); wait for it to finish, or remove ${join(out, ".deepen-lock")} if none is running`,
    );
    return true;
  });
  assert.equal(readFileSync(join(out, ".deepen-lock"), "utf8"), `${process.ppid}\n`);
  assert.deepEqual(readdirSync(out), [".deepen-lock"]);
});
