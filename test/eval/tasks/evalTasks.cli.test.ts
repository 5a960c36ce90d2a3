// `deepen eval --task/--suite` end to end on a fixture model, with small files written here in the
// benchmarks' original layouts.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DecoderModel } from "../../../src/nn/decoderModel.js";
import { loadTokenizer } from "../../../src/tokenizer/loadTokenizer.js";
import { perplexityOfTokens } from "../../../src/eval/perplexity.js";
import { fixture, runCli, tempDir } from "../../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const data = join(root, "data");
for (const d of [
  "arc_challenge",
  "mmlu/data/test",
  "mmlu/data/dev",
  "truthfulqa/data",
  "winogrande",
  "gsm8k",
])
  mkdirSync(join(data, d), { recursive: true });

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const arcRow = (i: number, digits = false) => ({
  id: `q${i}`,
  question: {
    stem: `Which of these is number ${i}?`,
    choices: ["one", "two", "three", "four"].map((text, k) => ({
      text: `${text} ${i}`,
      label: digits ? String(k + 1) : "ABCD"[k],
    })),
  },
  answerKey: digits ? String((i % 4) + 1) : "ABCD"[i % 4],
});
writeFileSync(
  join(data, "arc_challenge/ARC-Challenge-Test.jsonl"),
  jsonl([...Array(12).keys()].map((i) => arcRow(i, i === 3))),
);
const mmluRows = (n: number) =>
  [...Array(n).keys()]
    .map((i) => `"What is ${i}, roughly?",${i},"${i + 1}, or so","x ""quoted""",${i + 3},${"ABCD"[i % 4]}`)
    .join("\n") + "\n";
writeFileSync(join(data, "mmlu/data/test/anatomy_test.csv"), mmluRows(6));
writeFileSync(join(data, "mmlu/data/dev/anatomy_dev.csv"), mmluRows(5));
writeFileSync(join(data, "mmlu/data/test/astronomy_test.csv"), mmluRows(4));
writeFileSync(join(data, "mmlu/data/dev/astronomy_dev.csv"), mmluRows(5));
writeFileSync(
  join(data, "truthfulqa/data/mc_task.json"),
  JSON.stringify(
    [...Array(5).keys()].map((i) => ({
      question: `Is ${i} a number?`,
      mc1_targets: { Yes: 1, No: 0 },
      mc2_targets: { Yes: 1, [`Yes, ${i} is.`]: 1, No: 0 },
    })),
    null,
    2,
  ),
);
writeFileSync(
  join(data, "winogrande/dev.jsonl"),
  jsonl(
    [...Array(8).keys()].map((i) => ({
      qID: `w${i}`,
      sentence: `Ann helped Bo ${i} times because _ was kind.`,
      option1: "Ann",
      option2: "Bo",
      answer: i % 2 ? "1" : "2",
    })),
  ),
);
writeFileSync(
  join(data, "gsm8k/test.jsonl"),
  jsonl(
    [...Array(7).keys()].map((i) => ({
      question: `What is ${i} + 1?`,
      answer: `${i} + 1 = <<${i}+1=${i + 1}>>${i + 1}\n#### ${i + 1}`,
    })),
  ),
);

test("--suite h6 runs the six (HellaSwag's file missing: --skip-missing says so) and prints the harness's JSON", () => {
  const logs = join(root, "samples");
  const r = runCli([
    "eval",
    model,
    "--suite",
    "h6",
    "--data-dir",
    data,
    "--skip-missing",
    "--shots",
    "2",
    "--json",
    "--log-samples",
    logs,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped hellaswag: none of hellaswag\/hellaswag_val.jsonl/);
  const out = JSON.parse(r.stdout) as {
    results: Record<string, Record<string, number>>;
    average: number;
    "n-shot": Record<string, number>;
    config: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(out["n-shot"]).sort(), [
    "arc_challenge",
    "gsm8k",
    "mmlu",
    "truthfulqa_mc2",
    "winogrande",
  ]);
  const arc = out.results.arc_challenge!;
  for (const k of ["acc", "acc_stderr", "acc_norm", "acc_norm_stderr"])
    assert.equal(typeof arc[k], "number", k);
  assert.ok(out.results.mmlu_anatomy && out.results.mmlu_astronomy, "MMLU's subjects are sub-tasks");
  assert.equal(out.results.mmlu!.documents, 10);
  const mc2 = out.results.truthfulqa_mc2!.mc2!;
  assert.ok(mc2 > 0 && mc2 < 1);
  assert.equal(typeof out.results.gsm8k!["exact_match,strict-match"], "number");
  assert.equal(typeof out.results.gsm8k!["exact_match,flexible-extract"], "number");
  assert.equal(out.config.seed, 1234);
  // The average is over the main metrics (acc_norm, acc, mc2, acc, strict exact match).
  const mains = [
    arc.acc_norm!,
    out.results.mmlu!.acc!,
    mc2,
    out.results.winogrande!.acc!,
    out.results.gsm8k!["exact_match,strict-match"]!,
  ];
  assert.ok(Math.abs(out.average - mains.reduce((a, b) => a + b, 0) / 5) < 1e-9);
  // Every scored document is logged, with its log-likelihoods and prediction.
  const logged = readFileSync(join(logs, "arc_challenge.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(logged.length, 12);
  assert.equal(logged[0].loglikelihoods.length, 4);
  assert.ok(logged[0].requests[0].context.endsWith("Question: Which of these is number 0?\nAnswer:"));
  const gen = readFileSync(join(logs, "gsm8k.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(gen.length, 7);
  assert.equal(typeof gen[0].generation, "string");
});

test("--task NAME=PATH prints a table; --limit and --shots apply; the same seed gives the same numbers", () => {
  const args = [
    "eval",
    model,
    "--task",
    `arc_challenge=${join(data, "arc_challenge/ARC-Challenge-Test.jsonl")}`,
    "--limit",
    "5",
    "--shots",
    "3",
  ];
  const a = runCli(args);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /arc_challenge\s+3\s+5\s+acc\b/);
  assert.match(a.stdout, /few-shot examples from .*ARC-Challenge-Test.jsonl itself \(no train split found/);
  assert.equal(runCli(args).stdout, a.stdout);
  // The evaluated file named as the few-shot pool: no document is among its own examples.
  const logs = join(root, "self-shots");
  const file = join(data, "arc_challenge/ARC-Challenge-Test.jsonl");
  const own = runCli([...args, "--fewshot-data", file, "--log-samples", logs]);
  assert.equal(own.code, 0, own.stderr);
  for (const line of readFileSync(join(logs, "arc_challenge.jsonl"), "utf8").trim().split("\n")) {
    const { doc, requests } = JSON.parse(line) as { doc: number; requests: { context: string }[] };
    const stem = `Which of these is number ${doc}?`;
    assert.equal(requests[0]!.context.split(stem).length, 2, `document ${doc} appears once: as the question`);
  }
});

test("a task file: a custom rolling log-likelihood task equals the float64-checked engine's perplexity", async () => {
  const file = join(root, "rolling.yaml");
  writeFileSync(
    file,
    'task: my_ppl\noutput_type: loglikelihood_rolling\ndoc_to_text: "{{ body }}"\nmetric_list: [word_perplexity, byte_perplexity]\n',
  );
  const docs = join(root, "docs.jsonl");
  const texts = ["The quick brown fox jumps.", "A second, longer document with more words in it."];
  writeFileSync(docs, jsonl(texts.map((body) => ({ body }))));
  const r = runCli(["eval", model, "--task", `${file}=${docs}`, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout).results.my_ppl;
  const tok = await loadTokenizer(model);
  const dm = await DecoderModel.load(model);
  let ll = 0;
  for (const t of texts) {
    const ids = [tok.bosId!, ...tok.encode(t, { addSpecialTokens: false })];
    const p = await perplexityOfTokens(dm, ids, { context: 2048, stride: 2048 });
    ll -= p.nll * p.tokens;
  }
  await dm.release();
  const words = texts.join(" ").split(/\s+/).length;
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
  assert.ok(Math.abs(got.word_perplexity - Math.exp(-ll / words)) < 1e-6 * got.word_perplexity);
  assert.ok(Math.abs(got.byte_perplexity - Math.exp(-ll / bytes)) < 1e-6 * got.byte_perplexity);
});

test("bad input: one line naming the file, task and record, exit 2", () => {
  const bad = (name: string, text: string) => {
    const p = join(root, name);
    writeFileSync(p, text);
    return p;
  };
  const arcFile = (row: unknown) => bad(`arc-${Math.random()}.jsonl`, jsonl([row]));
  const cases: [string[], RegExp][] = [
    [["--task", "nosuch=x.jsonl"], /unknown task nosuch: built-in tasks are arc_challenge, gsm8k/],
    [["--suite", "h7"], /unknown suite h7: known are h6, tiny/],
    [
      ["--task", `arc_challenge=${arcFile({ ...arcRow(0), answerKey: "E" })}`, "--shots", "0"],
      /arc_challenge: .*\.jsonl:1: doc_to_target: gold "E" is not among \["A","B","C","D"\]/,
    ],
    [
      [
        "--task",
        `arc_challenge=${arcFile({ ...arcRow(0), question: { stem: "q", choices: [] } })}`,
        "--shots",
        "0",
      ],
      /arc_challenge: .*\.jsonl:1: doc_to_choice: no choices/,
    ],
    [
      ["--task", `arc_challenge=${join(data, "arc_challenge/ARC-Challenge-Test.jsonl")}`, "--shots", "12"],
      /arc_challenge: 12 few-shot examples asked, but .* offers 11/,
    ],
    [
      [
        "--task",
        `${bad("t1.yaml", 'task: t\noutput_type: generate_until\ndoc_to_text: "{{ q }}"\ndoc_to_target: "{{ a }}"\n')}=x.jsonl`,
      ],
      /t1.yaml: a generation task needs generation_kwargs.until/,
    ],
    [
      [
        "--task",
        `${bad("t2.yaml", 'task: t\noutput_type: multiple_choice\ndoc_to_text: "{{ q "\ndoc_to_choice: ["a"]\ndoc_to_target: "0"\n')}=${arcFile(arcRow(0))}`,
      ],
      /t: .*\.jsonl:1: doc_to_text: the template .* does not parse/,
    ],
    [["--task", `mmlu=${bad("bad_test.csv", "q,1,2,3\n")}`, "--shots", "0"], /bad_test.csv:1/],
    [
      [
        "--task",
        `winogrande=${bad("w.jsonl", jsonl([{ sentence: "no blank here", option1: "a", option2: "b", answer: "1" }]))}`,
        "--shots",
        "0",
      ],
      /w.jsonl:1/,
    ],
  ];
  // A log folder that cannot be made: one line, exit 1, found before any scoring.
  const blocked = runCli([
    "eval",
    model,
    "--task",
    `arc_challenge=${arcFile(arcRow(0))}`,
    "--shots",
    "0",
    "--log-samples",
    join(bad("file-not-folder", "x"), "logs"),
  ]);
  assert.equal(blocked.code, 1, blocked.stderr);
  assert.match(
    blocked.stderr,
    /^deepen: --log-samples: cannot write .*file-not-folder\/logs\/arc_challenge.jsonl: ENOTDIR\n$/,
  );
  for (const [args, expected] of cases) {
    const r = runCli(["eval", model, ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
