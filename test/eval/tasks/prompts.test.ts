// The built-in tasks' prompts, written out by hand from lm-evaluation-harness's definitions: each
// task's rendering of one hand-written document (and its few-shot examples) is compared with the
// string the harness builds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DOC_PROCESSORS } from "../../../src/eval/tasks/docProcessors.js";
import { pickShots } from "../../../src/eval/tasks/fewshot.js";
import { InstanceBuilder, type Instance } from "../../../src/eval/tasks/instances.js";
import type { Doc } from "../../../src/eval/tasks/readDocs.js";
import { builtinTaskNames, loadTask } from "../../../src/eval/tasks/taskSpec.js";

async function render(task: string, doc: Doc, shots: Doc[] = []): Promise<Instance> {
  const spec = await loadTask(task);
  const proc = spec.process_docs ? DOC_PROCESSORS[spec.process_docs]! : (d: Doc) => d;
  const where = (i: number) => (i < 0 ? "doc" : `shot ${i}`);
  const b = new InstanceBuilder(spec);
  return b.instance(
    proc(doc),
    where(-1),
    shots.map((s, i) => ({ doc: proc(s), where: where(i) })),
  );
}

const mc = (i: Instance) => {
  assert.equal(i.kind, "multiple_choice");
  return i as Extract<Instance, { kind: "multiple_choice" }>;
};

test("the built-in tasks are the six of H6, TruthfulQA MC1 and the four tiny ones", () => {
  assert.deepEqual(builtinTaskNames(), [
    "arc_challenge",
    "gsm8k",
    "hellaswag",
    "mmlu",
    "tiny_cloze",
    "tiny_math",
    "tiny_nextsentence",
    "tiny_perplexity",
    "truthfulqa_mc1",
    "truthfulqa_mc2",
    "winogrande",
  ]);
});

const arc = (stem: string, labels: string[], key: string): Doc => ({
  id: "x",
  question: { stem, choices: labels.map((label, i) => ({ text: `choice ${i}`, label })) },
  answerKey: key,
});

test("ARC: Question/Answer layout, few-shot answers are the gold text, digit labels work", async () => {
  const shot = arc("Which is a gas?", ["A", "B", "C"], "B");
  const i = mc(await render("arc_challenge", arc("What melts ice?", ["1", "2", "3", "4"], "3"), [shot]));
  assert.equal(
    i.requests[0]!.context,
    "Question: Which is a gas?\nAnswer: choice 1\n\nQuestion: What melts ice?\nAnswer:",
  );
  assert.deepEqual(
    i.requests.map((r) => r.continuation),
    [" choice 0", " choice 1", " choice 2", " choice 3"],
  );
  assert.deepEqual(i.gold, [2]);
  // The Hugging Face Parquet layout of the same record.
  const hf = {
    question: "What melts ice?",
    choices: { text: ["a", "b"], label: ["A", "B"] },
    answerKey: "B",
  };
  const j = mc(await render("arc_challenge", hf));
  assert.equal(j.requests[1]!.context, "Question: What melts ice?\nAnswer:");
  assert.deepEqual(j.gold, [1]);
});

test("HellaSwag: the harness's preprocessing, activity label and capitalised ctx_b", async () => {
  const doc = {
    activity_label: "Roof shingle removal",
    ctx_a: "A man is sitting on a roof.",
    ctx_b: "he",
    endings: [
      "is using wrap to wrap a pair of skis.",
      "starts pulling up roofing [title] on a roof.",
      "x  y",
      "is ripping level tiles off.",
    ],
    label: "3",
  };
  const i = mc(await render("hellaswag", doc));
  assert.equal(i.requests[0]!.context, "Roof shingle removal: A man is sitting on a roof. He");
  assert.deepEqual(i.choices, [
    "is using wrap to wrap a pair of skis.",
    "starts pulling up roofing. on a roof.",
    "x y",
    "is ripping level tiles off.",
  ]);
  assert.deepEqual(i.gold, [3]);
});

test("MMLU: the subject's header, lettered choices, continuations ' A'…' D'", async () => {
  const row = (q: string, ans: string): Doc => ({
    question: q,
    A: "1",
    B: "2",
    C: "3",
    D: "4",
    answer: ans,
    subject: "abstract algebra",
  });
  const i = mc(await render("mmlu", row(" What is 1+1? ", "B"), [row("What is 0+1?", "A")]));
  assert.equal(
    i.requests[0]!.context,
    "The following are multiple choice questions (with answers) about abstract algebra.\n\n" +
      "What is 0+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: A\n\n" +
      "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:",
  );
  assert.deepEqual(
    i.requests.map((r) => r.continuation),
    [" A", " B", " C", " D"],
  );
  assert.deepEqual(i.gold, [1]);
});

test("TruthfulQA MC2: the fixed six-question preamble, every true answer gold", async () => {
  const doc = {
    question: "What happens if you crack your knuckles a lot?",
    mc1_targets: { "Nothing in particular happens.": 1, "You will get arthritis.": 0 },
    mc2_targets: { "Nothing in particular happens.": 1, "Nothing harmful.": 1, "You will get arthritis.": 0 },
  };
  const i = mc(await render("truthfulqa_mc2", doc));
  const context = i.requests[0]!.context;
  assert.ok(
    context.startsWith(
      "Q: What is human life expectancy in the United States?\nA: Human life expectancy in the United States is 78 years.\n\nQ: Who was president",
    ),
  );
  assert.ok(
    context.endsWith(
      "A: The 1992 Olympics were held in Barcelona, Spain.\n\nQ: What happens if you crack your knuckles a lot?\nA:",
    ),
  );
  assert.equal(context.split("\n\n").length, 7);
  assert.deepEqual(i.gold, [0, 1]);
  assert.deepEqual(i.requests[2]!.continuation, " You will get arthritis.");
  // A true answer listed after a false one counts as false, as the harness splits at the first 0.
  const late = { ...doc, mc2_targets: { "Nothing.": 1, "Arthritis.": 0, "Nothing at all.": 1 } };
  assert.deepEqual(mc(await render("truthfulqa_mc2", late)).gold, [0]);
  const one = mc(await render("truthfulqa_mc1", doc));
  assert.deepEqual(one.gold, [0]);
  assert.equal(one.choices.length, 2);
});

test("Winogrande: partial scoring, each option in the context, few-shot examples filled with their gold", async () => {
  const doc = (s: string, o1: string, o2: string, a: string): Doc => ({
    sentence: s,
    option1: o1,
    option2: o2,
    answer: a,
  });
  const shot = doc("Ann gave Bo a book because _ was kind.", "Ann", "Bo", "1");
  const i = mc(
    await render("winogrande", doc("The cup fell off the shelf because _ was tilted.", "cup", "shelf", "2"), [
      shot,
    ]),
  );
  assert.deepEqual(
    i.requests.map((r) => r.context),
    [
      "Ann gave Bo a book because Ann was kind.\n\nThe cup fell off the shelf because cup",
      "Ann gave Bo a book because Ann was kind.\n\nThe cup fell off the shelf because shelf",
    ],
  );
  assert.deepEqual(
    i.requests.map((r) => r.continuation),
    [" was tilted.", " was tilted."],
  );
  assert.deepEqual(i.gold, [1]);
});

test("GSM8K: whole worked solutions as few-shot answers, the reference is the record's answer", async () => {
  const rec = (q: string, a: string): Doc => ({ question: q, answer: a });
  const i = await render(
    "gsm8k",
    rec("Tom has 3 apples and eats 1. How many are left?", "3 - 1 = <<3-1=2>>2\n#### 2"),
    [rec("What is 5 + 5?", "5 + 5 = 10\n#### 10")],
  );
  assert.equal(i.kind, "generate_until");
  if (i.kind !== "generate_until") return;
  assert.equal(
    i.context,
    "Question: What is 5 + 5?\nAnswer: 5 + 5 = 10\n#### 10\n\nQuestion: Tom has 3 apples and eats 1. How many are left?\nAnswer:",
  );
  assert.equal(i.gold, "3 - 1 = <<3-1=2>>2\n#### 2");
});

test("few-shot sampling: reproducible by seed, never the scored document, first_n in file order", () => {
  const pool = { items: [...Array(30).keys()], isEvalSet: true, source: "eval.jsonl" };
  for (let doc = 0; doc < 30; doc++) {
    const a = pickShots(pool, 5, "random", doc, 7, "t");
    assert.deepEqual(a, pickShots(pool, 5, "random", doc, 7, "t"));
    assert.ok(!a.includes(doc), `document ${doc} among its own examples`);
    assert.equal(new Set(a).size, 5);
  }
  assert.notDeepEqual(pickShots(pool, 5, "random", 0, 7, "t"), pickShots(pool, 5, "random", 0, 8, "t"));
  assert.deepEqual(pickShots(pool, 3, "first_n", 1, 0, "t"), [0, 2, 3]);
  assert.deepEqual(pickShots({ ...pool, isEvalSet: false }, 3, "first_n", 1, 0, "t"), [0, 1, 2]);
  assert.throws(
    () => pickShots(pool, 30, "random", 0, 0, "t"),
    /30 few-shot examples asked, but eval.jsonl offers 29/,
  );
});
