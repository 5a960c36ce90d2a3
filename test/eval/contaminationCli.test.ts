// `deepen contamination`'s bad inputs: each a one-line error, exit status 2, nothing on stdout and
// (for a bad reference) no weights read first.
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fixture, runCli, tempDir } from "../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 1, dtype: "F32" });
const file = (name: string, content: string) => {
  const path = join(root, name);
  writeFileSync(path, content);
  return path;
};
const data = file(
  "data.jsonl",
  '{"text": "first example", "member": 1}\n{"text": "second one", "member": 0}\n',
);

// Another vocabulary: 259 embedding rows instead of 288.
const smaller = await fixture(root, { family: "llama", layers: 1, dtype: "F32", dims: { vocab: 259 } });
// The same sizes, but a tokenizer that gives "H" and "e" each other's ids.
const swapped = join(root, "swapped");
cpSync(model, swapped, { recursive: true });
const tokFile = join(swapped, "tokenizer.json");
const tok = JSON.parse(readFileSync(tokFile, "utf8")) as { model: { vocab: Record<string, number> } };
[tok.model.vocab.H, tok.model.vocab.e] = [tok.model.vocab.e!, tok.model.vocab.H!];
writeFileSync(tokFile, JSON.stringify(tok));

const run = (extra: string[], d = data, ref = model) =>
  runCli(["contamination", model, "--ref", ref, "--data", d, ...extra]);

test("bad options and data are one-line errors with exit status 2", () => {
  const cases: [string[], RegExp, string?, string?][] = [
    [["--k", "0"], /^deepen: --k 0: must be more than 0 and at most 100/],
    [["--k", "101"], /^deepen: --k 101: must be more than 0 and at most 100/],
    [["--k", "many"], /^deepen: --k many: expected a number/],
    [[], /: its vocab_size is 259, .*'s 288; the reference must share the model's tokenizer/, data, smaller],
    [[], /: its tokenizer gives a probe text other ids than .*'s; the reference must share/, data, swapped],
    [
      [],
      /missing\.jsonl:2: no string field "text"/,
      file("missing.jsonl", '{"text": "a"}\n{"question": "b"}\n'),
    ],
    [["--field", "body"], /data\.jsonl:1: no string field "body"/],
    [
      [],
      /number\.jsonl:1: the "text" field is a number, not a string/,
      file("number.jsonl", '{"text": 7}\n'),
    ],
    [[], /empty\.jsonl: no examples to score/, file("empty.jsonl", "")],
    [[], /empty\.txt: no examples to score/, file("empty.txt", "\n\n")],
    [["--label-field", "seen"], /data\.jsonl:1: no label field "seen"/],
    [
      ["--label-field", "text"],
      /data\.jsonl:1: the "text" field is "first example"; a label is 1\/0 or true\/false/,
    ],
    [
      ["--label-field", "member"],
      /--label-field member: every example scored is labelled 1 \(seen\); the AUC needs both/,
      file("ones.jsonl", '{"text": "a b", "member": 1}\n{"text": "c d", "member": true}\n'),
    ],
    [
      ["--field", "text"],
      /lines\.txt: plain text \(one example per line\) has no fields/,
      file("lines.txt", "a\nb\n"),
    ],
    [["--max-tokens", "4096"], /--max-tokens 4096: more than the 2048 positions of /],
    [["--max-tokens", "1"], /--max-tokens 1: at least 2/],
    [[], /none\.jsonl: no such file/, join(root, "none.jsonl")],
    [["--device", "tpu"], /--device tpu: expected one of/],
  ];
  for (const [extra, message, d, ref] of cases) {
    const r = run(extra, d, ref);
    assert.equal(r.code, 2, `${extra.join(" ")} ${d ?? ""}: ${r.stderr}`);
    assert.equal(r.stdout, "", "nothing on stdout");
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
  // --ref and --data are required.
  const bare = runCli(["contamination", model, "--data", data]);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /required option '--ref <model>' not specified/);
});

test("an existing --out file is replaced only with --force; no labels, no AUC", () => {
  const out = file("scores.jsonl", "keep me\n");
  const refused = run(["-o", out]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /output .*scores\.jsonl exists; pass --force to replace it/);
  assert.equal(readFileSync(out, "utf8"), "keep me\n");
  const r = run(["-o", out, "--force", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ["settings", "model", "reference", "difference", "top"]);
  assert.deepEqual(Object.keys(j.settings as object), [
    "model",
    "ref",
    "data",
    "k",
    "fields",
    "max_tokens",
    "examples",
    "cut",
    "skipped",
  ]);
  assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 2);
  const human = run([]);
  assert.match(human.stdout, /no labels \(--label-field\): the scores rank texts, they set no threshold/);
  // The same model as its own reference: every difference is 0.
  assert.match(human.stdout, /difference +0\.000 +0\.000 +0\.000 +0\.000/);
});
