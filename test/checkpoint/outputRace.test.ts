// Two commands writing the same output at once: the final rename decides, so without --force the
// first to finish keeps the output and the other is refused in one line; nothing is left behind.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { withAtomicOutput } from "../../src/checkpoint/atomicOutput.js";
import { writeScores } from "../../src/eval/contamination/writeScores.js";
import { CLI, tempDir } from "../helpers.js";

const root = tempDir();
const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));
const meanwhile =
  /^output .* was written by another command while this one ran; this result was not kept \(--force replaces it\)$/;

/** A folder deepen would write (a data folder), holding `who`. */
const writer = (who: string, ms: number) => async (tmp: string) => {
  writeFileSync(join(tmp, "train.jsonl"), `${who}\n`);
  writeFileSync(join(tmp, "info.json"), "{}\n");
  await pause(ms);
  return who;
};

test("two writers of one output without --force: exactly one succeeds, the other is refused at the rename", async () => {
  for (let round = 0; round < 6; round++) {
    const parent = join(root, `plain-${round}`);
    const out = join(parent, "out");
    // Both pass the check at the start; which finishes first varies by round.
    const results = await Promise.allSettled([
      withAtomicOutput(out, {}, writer("a", round % 2 ? 5 : 20)),
      withAtomicOutput(out, {}, writer("b", round % 2 ? 20 : 5)),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(won.length, 1, `round ${round}: exactly one succeeds`);
    assert.equal(lost[0]!.reason.name, "OutputError");
    assert.match(lost[0]!.reason.message, meanwhile);
    assert.equal(readFileSync(join(out, "train.jsonl"), "utf8"), `${won[0]!.value}\n`, "the winner's output");
    assert.deepEqual(readdirSync(parent), ["out"], "no temporary folder left");
  }
});

test("with --force both succeed, the last one's output stands, nothing is left aside", async () => {
  for (let round = 0; round < 4; round++) {
    const parent = join(root, `forced-${round}`);
    const out = join(parent, "out");
    await withAtomicOutput(out, {}, writer("old", 0));
    const results = await Promise.all([
      withAtomicOutput(out, { force: true }, writer("a", round % 2 ? 5 : 15)),
      withAtomicOutput(out, { force: true }, writer("b", round % 2 ? 15 : 5)),
    ]);
    assert.deepEqual(results, ["a", "b"]);
    assert.equal(readFileSync(join(out, "train.jsonl"), "utf8"), round % 2 ? "b\n" : "a\n");
    assert.deepEqual(readdirSync(parent), ["out"]);
  }
});

test("--force checks at the rename too: a folder deepen did not write that appeared meanwhile is not replaced", async () => {
  const parent = join(root, "appeared");
  const out = join(parent, "out");
  await assert.rejects(
    withAtomicOutput(out, { force: true }, async (tmp) => {
      await writer("a", 0)(tmp);
      mkdirSync(out);
      writeFileSync(join(out, "notes.txt"), "years of work\n");
    }),
    /--force will not replace .*out: it holds 1 entry and is not a model, run, report, tokenizer or data folder deepen wrote/,
  );
  assert.equal(readFileSync(join(out, "notes.txt"), "utf8"), "years of work\n");
  assert.deepEqual(readdirSync(parent), ["out"]);
});

test("two writers of one scores file without --force: exactly one succeeds", async () => {
  for (let round = 0; round < 6; round++) {
    const parent = join(root, `scores-${round}`);
    mkdirSync(parent);
    const file = join(parent, "scores.jsonl");
    const results = await Promise.allSettled([
      writeScores(file, [{ who: "a" }]),
      writeScores(file, [{ who: "b" }]),
    ]);
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(lost.length, 1, `round ${round}`);
    assert.match(lost[0]!.reason.message, meanwhile);
    assert.match(readFileSync(file, "utf8"), /^\{"who":"[ab]"\}\n$/);
    assert.deepEqual(readdirSync(parent), ["scores.jsonl"]);
    // --force replaces it.
    await writeScores(file, [{ who: "c" }], true);
    assert.equal(readFileSync(file, "utf8"), '{"who":"c"}\n');
  }
});

test("two deepen commands writing the same -o at once: one exits 0, the other exits 1 with one line", async () => {
  const run = (out: string) => {
    const child = spawn(process.execPath, [CLI, "data", "math", "-o", out, "--n", "5000"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise<{ code: number | null; stderr: string }>((res) =>
      child.on("close", (code) => res({ code, stderr })),
    );
  };
  for (let round = 0; round < 5; round++) {
    const parent = join(root, `cli-${round}`);
    const out = join(parent, "math");
    const results = await Promise.all([run(out), run(out)]);
    assert.deepEqual(results.map((r) => r.code).sort(), [0, 1], results.map((r) => r.stderr).join("\n"));
    const refused = results.find((r) => r.code === 1)!.stderr;
    assert.equal(refused.trim().split("\n").length, 1, refused);
    // Refused at the rename, or (if it started late) at the start.
    assert.match(
      refused,
      /^deepen: output .*math (was written by another command while this one ran; this result was not kept \(--force replaces it\)|exists; pass --force to replace it)\n$/,
    );
    assert.deepEqual(readdirSync(parent), ["math"]);
  }
});
