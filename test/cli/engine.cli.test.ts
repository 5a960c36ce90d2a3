import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fixture, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const text = join(root, "text.txt");
const emptyFolder = join(root, "empty");
mkdirSync(emptyFolder);
writeFileSync(text, "It was the best of times, it was the worst of times, it was the age of wisdom.\n");

test("eval --perplexity --json prints tokens, mean NLL and perplexity", () => {
  const r = runCli(["eval", model, "--perplexity", text, "--json", "--context", "32"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { tokens: number; nll: number; perplexity: number };
  // The byte-level fixture tokenizer adds <s>: one token per byte plus BOS, all but the first scored.
  assert.equal(
    j.tokens,
    Buffer.byteLength("It was the best of times, it was the worst of times, it was the age of wisdom.\n"),
  );
  assert.ok(Math.abs(Math.exp(j.nll) - j.perplexity) < 1e-9 * j.perplexity);
  // A random model is close to uniform over its 288-entry vocabulary.
  assert.ok(j.perplexity > 150 && j.perplexity < 500, `perplexity ${j.perplexity}`);
  const human = runCli(["eval", model, "--perplexity", text, "--context", "32"]);
  assert.match(human.stdout, /^tokens \d+, mean NLL \d+\.\d{4}, perplexity \d+\.\d{3}\n$/);
});

test("eval --perplexity on a folder scores each document on its own and pools the tokens", () => {
  const dir = join(root, "docs");
  mkdirSync(dir);
  const docs = ["The whale surfaced at dawn.", "Fellow citizens, the state of the union is strong."];
  docs.forEach((d, i) => writeFileSync(join(dir, `${i}.txt`), d));
  const single = docs.map((d, i) => {
    const f = join(root, `single-${i}.txt`);
    writeFileSync(f, d);
    const r = runCli(["eval", model, "--perplexity", f, "--json", "--context", "16"]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { tokens: number; nll: number };
  });
  const r = runCli(["eval", model, "--perplexity", dir, "--json", "--context", "16"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { documents: number; tokens: number; nll: number };
  assert.equal(j.documents, 2);
  assert.equal(j.tokens, single[0]!.tokens + single[1]!.tokens);
  const pooled = (single[0]!.nll * single[0]!.tokens + single[1]!.nll * single[1]!.tokens) / j.tokens;
  assert.ok(Math.abs(j.nll - pooled) < 1e-5, `${j.nll} vs ${pooled}`);
});

test("generate streams greedy text deterministically", () => {
  const a = runCli(["generate", model, "Once", "--max-tokens", "8"]);
  const b = runCli(["generate", model, "Once", "--max-tokens", "8"]);
  assert.equal(a.code, 0, a.stderr);
  assert.ok(a.stdout.startsWith("Once"));
  assert.equal(a.stdout, b.stdout);
  const c = runCli(["generate", model, "Once", "--max-tokens", "8", "--chat"]);
  assert.equal(c.code, 0, c.stderr);
});

test("engine commands: bad input is one line and a non-zero exit", async () => {
  const cases: [string[], RegExp, number][] = [
    [["eval", model], /say what to evaluate: --perplexity DATA/, 2],
    [
      ["eval", model, "--perplexity", join(root, "none.txt")],
      /--perplexity .*none\.txt: cannot read \(ENOENT\)/,
      2,
    ],
    [
      ["eval", model, "--perplexity", text, "--device", "tpu"],
      /--device tpu: expected one of cpu, cuda, webgpu/,
      2,
    ],
    [
      ["eval", model, "--perplexity", text, "--context", "8", "--stride", "9"],
      /--stride 9: must be between 1 and the context \(8\)/,
      2,
    ],
    [["generate", model, "x", "--temperature", "warm"], /--temperature warm: expected a number/, 2],
    [["generate", model, "x", "--top-p", "1.5"], /--top-p 1\.5: must be in \(0, 1\]/, 2],
    [["generate", model, "x", "--max-tokens", "0"], /--max-tokens 0: must be at least 1/, 2],
    // Checked before the prompt is echoed: nothing on stdout.
    [
      ["generate", model, "x".repeat(2100)],
      /the prompt \(\d+ tokens\) fills the model's context \(2048\)/,
      2,
    ],
    [["generate", model, "x", "--device", "webgpu"], /^deepen: --device webgpu: /, 1],
    [["eval", model, "--perplexity", text, "--batch", "0"], /--batch 0: must be a positive integer/, 2],
    [["eval", model, "--perplexity", emptyFolder], /--perplexity .*: no document of at least 2 tokens/, 2],
  ];
  const moe = await fixture(root, { family: "mixtral", layers: 1 });
  cases.push([["eval", moe, "--perplexity", text], /cannot run MixtralForCausalLM yet/, 1]);
  if (!process.env.CUDA_VISIBLE_DEVICES) {
    cases.push([
      ["generate", model, "x", "--device", "cuda"],
      /--device cuda: this install of onnxruntime-node has no CUDA provider/,
      1,
    ]);
  }
  for (const [args, re, code] of cases) {
    const r = runCli(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "", "nothing printed on stdout before the error");
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

test("consistent commands: a group without its subcommand exits 2 with its help; -o everywhere; snake_case JSON", () => {
  const group = runCli(["train"]);
  assert.equal(group.code, 2);
  assert.match(group.stdout + group.stderr, /Usage: deepen train \[options\] \[command\]/);
  for (const cmd of [
    ["upscale"],
    ["merge"],
    ["init"],
    ["tokenizer", "train"],
    ["train", "pretrain"],
    ["demo"],
  ]) {
    const help = runCli([...cmd, "--help"]);
    assert.match(help.stdout, /-o, --out <dir>/, cmd.join(" "));
  }
  const j = JSON.parse(runCli(["inspect", model, "--json"]).stdout) as Record<string, unknown>;
  assert.ok("layer_groups" in j && !("layerGroups" in j));
  const ev = JSON.parse(runCli(["eval", model, "--perplexity", text, "--json"]).stdout) as Record<
    string,
    unknown
  >;
  assert.deepEqual(Object.keys(ev), ["documents", "tokens", "nll", "perplexity"]);
});

test("eval reads a folder's text files, names the files it skipped, and --ext chooses", () => {
  const dir = join(root, "mixed");
  mkdirSync(dir);
  writeFileSync(join(dir, "a.txt"), "It was the best of times, it was the worst of times.\n");
  writeFileSync(join(dir, "run.sh"), "#!/bin/sh\necho it was the age of foolishness\n");
  const r = runCli(["eval", model, "--perplexity", dir, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { documents: number }).documents, 1);
  assert.match(
    r.stderr,
    /skipped 1 file not ending in \.txt, \.md, \.jsonl \(or \.gz of those; --ext chooses\): .*run\.sh/,
  );
  const both = runCli(["eval", model, "--perplexity", dir, "--ext", "txt,sh", "--json"]);
  assert.equal((JSON.parse(both.stdout) as { documents: number }).documents, 2);
  assert.equal(both.stderr, "");
});
