// --force replaces only what deepen wrote: a typo in -o must never cost a user their files.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkOutputTarget } from "../../src/checkpoint/atomicOutput.js";
import { fixture, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 4, dtype: "F32" });
const precious = () => {
  const dir = join(root, `mine-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "notes.txt"), "years of work\n");
  return dir;
};
const intact = (dir: string) => readFileSync(join(dir, "notes.txt"), "utf8") === "years of work\n";
const refused =
  /--force will not replace .*: it holds 1 entry and is not a model, run, report, tokenizer or data folder deepen wrote/;

test("upscale, merge, init, tokenizer train, train pretrain, demo and data math refuse to replace a folder deepen did not write", () => {
  const corpus = join(root, "corpus.txt");
  writeFileSync(corpus, "the cat sat on the mat. ".repeat(200));
  const yaml = join(root, "merge.yml");
  writeFileSync(
    yaml,
    `merge_method: linear\nmodels:\n  - model: ${model}\n    parameters: {weight: 1}\ndtype: float32\n`,
  );
  // Temporary paths hold no spaces, so each command reads as one line.
  const commands = [
    `upscale ${model} -o OUT --force`,
    `merge ${yaml} -o OUT --force`,
    `init -o OUT --tokenizer ${model} --force`,
    `tokenizer train ${corpus} --vocab 300 -o OUT --force`,
    `train pretrain --model ${model} --data ${corpus} -o OUT --max-steps 1 --seq-len 16 --batch 1 --force`,
    `demo --quick --steps 1 -o OUT --force`,
    `data math -o OUT --n 8 --force`,
  ].map((c) => c.split(" "));
  for (const args of commands) {
    const dir = precious();
    const r = runCli(args.map((a) => (a === "OUT" ? dir : a)));
    assert.notEqual(r.code, 0, `${args[0]} ${args[1]} should refuse`);
    assert.match(r.stderr, refused, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    assert.ok(intact(dir), `${args[0]} left the folder's files alone`);
  }
});

test("--force never replaces the current folder, the home folder, a file, a parent of an input or a root", () => {
  const cwd = precious();
  const here = runCli(["upscale", model, "-o", ".", "--force"], {}, cwd);
  assert.notEqual(here.code, 0);
  assert.match(here.stderr, /--force will not replace \.: it is the current folder/);
  assert.ok(intact(cwd));

  const home = precious();
  const h = runCli(["upscale", model, "-o", home, "--force"], { HOME: home });
  assert.match(h.stderr, /it is the home folder/);
  assert.ok(intact(home));

  const file = join(root, "a-file.txt");
  writeFileSync(file, "keep me\n");
  const f = runCli(["upscale", model, "-o", file, "--force"]);
  assert.match(f.stderr, /it is a file, not a folder deepen wrote/);
  assert.equal(readFileSync(file, "utf8"), "keep me\n");

  const p = runCli(["upscale", model, "-o", root, "--force"]);
  assert.match(p.stderr, /contains the input folder/);
  assert.ok(existsSync(join(model, "config.json")));

  assert.throws(
    () => checkOutputTarget("/", { force: true }),
    /--force will not replace \/: it is a filesystem root/,
  );
});

test("--force does replace what deepen wrote, and an empty folder", () => {
  const out = join(root, "grown");
  assert.equal(runCli(["upscale", model, "-o", out]).code, 0);
  const again = runCli(["upscale", model, "-o", out, "--force"]);
  assert.equal(again.code, 0, again.stderr);
  const empty = join(root, "empty");
  mkdirSync(empty);
  const e = runCli(["upscale", model, "-o", empty, "--force"]);
  assert.equal(e.code, 0, e.stderr);
  assert.ok(existsSync(join(empty, "config.json")));
});
