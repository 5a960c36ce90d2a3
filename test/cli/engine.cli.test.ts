import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, editTensors, fixture, runCli, tempDir } from "../helpers.js";

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
    [["eval", model], /say what to evaluate: .*--perplexity DATA/, 2],
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

// Issue 15: what the engine would misuse is refused at load, one line and exit 1, nothing on stdout.
// Each case is a copy of the fixture with one thing broken; a run that hangs (as an id of 1e9 made
// the tokenizer do) counts as a failure after 60 s.
test("eval refuses config values, tensors and token ids it would misuse, and never prints a NaN", async () => {
  let k = 0;
  const broken = async (edit: (dir: string) => void | Promise<void>) => {
    const dir = join(root, `broken-${k++}`);
    cpSync(model, dir, { recursive: true });
    await edit(dir);
    return dir;
  };
  const json = (dir: string, file: string, edit: (j: Record<string, unknown>) => void) => {
    const j = JSON.parse(readFileSync(join(dir, file), "utf8")) as Record<string, unknown>;
    edit(j);
    writeFileSync(join(dir, file), JSON.stringify(j));
  };
  const config = (extra: Record<string, unknown>) => (d: string) =>
    json(d, "config.json", (c) => Object.assign(c, extra));
  const vocab = (token: string, id: number) => (d: string) =>
    json(d, "tokenizer.json", (t) => {
      ((t.model as Record<string, unknown>).vocab as Record<string, number>)[token] = id;
      for (const a of t.added_tokens as { id: number; content: string }[]) if (a.content === token) a.id = id;
    });
  const cases: [(dir: string) => void | Promise<void>, RegExp][] = [
    [config({ rms_norm_eps: 0 }), /config\.json: rms_norm_eps must be a positive number, got 0$/],
    [config({ rms_norm_eps: null }), /config\.json: rms_norm_eps must be a positive number, got null$/],
    [config({ rope_theta: -1 }), /config\.json: rope_theta must be a positive number, got -1$/],
    [
      config({ rope_scaling: { rope_type: "linear", factor: 0 } }),
      /rope_scaling\.factor must be a positive number/,
    ],
    [config({ hidden_act: "relu" }), /config\.json: hidden_act "relu" is not an activation the engine runs/],
    [
      config({ num_hidden_layers: 1 }),
      /tensor model\.layers\.1\..* belongs to layer 1, but config\.json says num_hidden_layers = 1$/,
    ],
    [config({ num_hidden_layers: 1e9 }), /num_hidden_layers = 1000000000 is over the 1024-layer limit/],
    [config({ num_hidden_layers: 2 ** 31 }), /num_hidden_layers = 2147483648 is over the 1024-layer limit/],
    [
      config({ vocab_size: 4096 }),
      /tensor model\.embed_tokens\.weight is \[288, 64\], but config\.json's sizes make it \[4096, 64\]$/,
    ],
    [
      (d) =>
        editTensors(d, (ts) =>
          ts.map((t) =>
            t.name === "model.norm.weight"
              ? { ...t, bytes: Buffer.from(new Float32Array(64).fill(NaN).buffer) }
              : t,
          ),
        ),
      /: the mean NLL is NaN: the model's outputs are not finite numbers/,
    ],
    [
      config({ logits_scaling: 1e-6 }),
      /: the mean NLL is \d+\.\d nats per token, so the perplexity is past the float range/,
    ],
    [
      config({ tie_word_embeddings: "false" }),
      /config\.json: tie_word_embeddings must be true or false, got "false"/,
    ],
    [vocab("<pad>", 300), /tokenizer\.json: assigns token ids up to 300, past config\.json's vocab_size 288/],
    [vocab("a", -1), /tokenizer\.json: token "a" has id -1; token ids run from 0 to 16777215/],
    [vocab("a", 1e9), /tokenizer\.json: token "a" has id 1000000000; token ids run from 0/],
    [
      (d) => json(d, "generation_config.json", (g) => (g.eos_token_id = [257, 5000])),
      /: the EOS token id 5000 is past config\.json's vocab_size 288/,
    ],
  ];
  for (const [edit, pattern] of cases) {
    const dir = await broken(edit);
    const before = folderHash(dir);
    const r = spawnSync(
      process.execPath,
      [CLI, "eval", dir, "--perplexity", text, "--json", "--context", "32"],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    assert.equal(
      r.status,
      1,
      `${pattern}: exit ${r.status} ${r.signal ?? ""}; stdout ${r.stdout}; stderr ${r.stderr}`,
    );
    assert.equal(r.stdout, "", "no result printed");
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), /^deepen: /);
    assert.doesNotMatch(r.stderr, /unexpected/);
    assert.match(r.stderr.trimEnd(), pattern);
    assert.equal(folderHash(dir), before, "the model folder is unchanged");
  }
});

function folderHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest("hex");
}
