// The test: a model trained for a few epochs on half of a small set tells those examples
// from the other half by Min-K% Prob, while its untrained starting point, the reference, does not.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { contamination } from "../../src/eval/contamination/contamination.js";
import { mulberry32 } from "../../src/random.js";
import { pretrain } from "../../src/train/pretrain.js";
import { fixture, runCli, tempDir } from "../helpers.js";

const root = tempDir();

// Random lowercase words: nothing but having seen a text makes it likelier than another, so a model
// that has not seen them cannot tell the halves apart.
const rand = mulberry32(14);
const letters = "abcdefghijklmnopqrstuvwxyz";
const word = () =>
  Array.from({ length: 3 + Math.floor(rand() * 5) }, () => letters[Math.floor(rand() * 26)]).join("");
// Each text is SEQ_LEN − 2 bytes, so with its BOS and EOS it fills one packed training sequence
// exactly: every member is trained from position 0 after its BOS, as it is scored.
const SEQ_LEN = 32;
const text = () =>
  Array.from({ length: 12 }, word)
    .join(" ")
    .slice(0, SEQ_LEN - 2);
const texts = Array.from({ length: 40 }, text);
// A stream of n sequences needs n · SEQ_LEN + 1 tokens: one more text after the members.
const members = [...texts.filter((_, i) => i % 2 === 0), text()];

test("a fixture trained on half of a set separates that half by Min-K% (AUC > 0.9); its untrained reference does not", async () => {
  const base = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
  const train = join(root, "members.jsonl");
  writeFileSync(train, members.map((t) => JSON.stringify({ text: t }) + "\n").join(""));
  const data = join(root, "labelled.jsonl");
  writeFileSync(data, texts.map((t, i) => JSON.stringify({ text: t, member: i % 2 === 0 }) + "\n").join(""));
  const run = join(root, "run");
  // 100 steps of 4 sequences: 20 epochs of the 20 members (the training loss falls from 5.7 to 2.5).
  await pretrain({
    model: base,
    data: [train],
    out: run,
    seqLen: SEQ_LEN,
    batch: 4,
    lr: 1e-2,
    warmup: 4,
    maxSteps: 100,
    cacheDir: join(root, "cache"),
  });
  const model = join(run, "final");
  const r = await contamination(model, { ref: base, data, labelField: "member" });
  assert.equal(r.settings.examples, 40);
  assert.deepEqual(r.settings.fields, ["text"]);
  assert.equal(r.auc!.members, 20);
  assert.ok(r.auc!.model > 0.9, `AUC of the trained model's Min-K% ${r.auc!.model}`);
  assert.ok(r.auc!.difference > 0.9, `AUC of the difference ${r.auc!.difference}`);
  assert.ok(
    r.auc!.reference > 0.2 && r.auc!.reference < 0.8,
    `AUC of the reference's Min-K% ${r.auc!.reference}`,
  );
  // The examples the model finds likeliest relative to the reference are members.
  assert.ok(
    r.top.slice(0, 5).every((e) => e.label === 1),
    JSON.stringify(r.top.slice(0, 5)),
  );
  assert.ok(r.difference.median > 0, "training made the model likelier than its start on the whole set");

  // The command prints the same figures; --out writes every example's scores.
  const out = join(root, "scores.jsonl");
  const args = ["contamination", model, "--ref", base, "--data", data, "--label-field", "member"];
  const cli = runCli([...args, "--json", "-o", out]);
  assert.equal(cli.code, 0, cli.stderr);
  const j = JSON.parse(cli.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ["settings", "model", "reference", "difference", "auc", "top"]);
  assert.deepEqual(j.auc, {
    members: 20,
    non_members: 20,
    model: r.auc!.model,
    reference: r.auc!.reference,
    difference: r.auc!.difference,
  });
  const rows = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { index: number; label: number; difference: number });
  assert.deepEqual(
    rows.map((e) => e.index),
    [...texts.keys()],
  );
  assert.deepEqual(
    rows.map((e) => e.label),
    texts.map((_, i) => (i % 2 === 0 ? 1 : 0)),
  );
  const human = runCli([...args, "--top", "3"]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /ROC AUC for telling members from non-members \(20 labelled 1, 20 labelled 0/);
  assert.match(human.stdout, new RegExp(`difference +${r.auc!.difference.toFixed(3)}`));
  assert.equal(human.stdout.match(/labelled\.jsonl:\d+/g)?.length, 3, human.stdout);
});
