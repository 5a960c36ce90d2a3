import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../src/errors.js";
import {
  DOC_PROCESSORS,
  docProcessor,
  hellaswagPreprocess,
  processDocs,
} from "../../../src/eval/tasks/docProcessors.js";
import type { Doc } from "../../../src/eval/tasks/readDocs.js";

const run = (name: string, doc: Doc) => processDocs(name, [doc], () => "f.jsonl:7")[0]!;

/** The UsageError processDocs gives for `doc`, checked to name the record and match `why`. */
function refused(name: string, doc: Doc, why: RegExp): void {
  assert.throws(
    () => run(name, doc),
    (e: Error) => e instanceof UsageError && e.message.startsWith("f.jsonl:7: ") && why.test(e.message),
    JSON.stringify(doc),
  );
}

test("hellaswag: WikiHow's brackets, [title] and double spaces cleaned as the harness does", () => {
  const doc = {
    activity_label: "Home and Garden",
    ctx_a: "[header] How to grow basil [title] Pick a sunny spot. [step] Basil needs six hours of sun a day.",
    ctx_b: "tHEN Water it   in the MORNING",
    endings: [
      "[substeps] Water it daily.  Keep the soil moist.",
      "  Pinch off the top leaves [title] Harvest often [step] Cut above a pair of leaves. ",
      "Let it   dry out.",
      "[header] Fertilize [title] once a month.",
    ],
    label: "2",
    split: "val",
  };
  // Printed by the harness's preprocess and process_docs in Python.
  assert.deepEqual(run("hellaswag", doc), {
    ...doc,
    query:
      "Home and Garden: How to grow basil. Pick a sunny spot. Basil needs six hours of sun a day. Then water it  in the morning",
    choices: [
      " Water it daily. Keep the soil moist.",
      "Pinch off the top leaves. Harvest often Cut above a pair of leaves.",
      "Let it  dry out.",
      " Fertilize. once a month.",
    ],
    gold: 2,
  });
  // One pass of "  " → " ": four spaces become two.
  assert.equal(hellaswagPreprocess(" a    b  [x]  c "), "a  b  c");
  assert.equal(run("hellaswag", { ...doc, label: 3 }).gold, 3);
  refused(
    "hellaswag",
    { ...doc, label: "" },
    /"label" must be an integer, not "" \(a test split without labels/,
  );
  refused("hellaswag", { ...doc, label: 4 }, /not the index of one of the 4 choices/);
  refused("hellaswag", { ...doc, endings: "x" }, /"endings" must be a list of strings/);
  refused("hellaswag", { activity_label: "x" }, /no field "ctx_a"/);
});

const MC1_DICT = { "Nauru.": 1, "Vatican City.": 0, "Monaco.": 0 };
const MC2_DICT = { "Nauru.": 1, "It is Nauru.": 1, "Monaco.": 0 };
const MC1 = { choices: ["Nauru.", "Vatican City.", "Monaco."], labels: [1, 0, 0] };
const MC2 = { choices: ["Nauru.", "It is Nauru.", "Monaco."], labels: [1, 1, 0] };

test("truthfulqa: mc_task.json's dicts and the Parquet form give the same targets, in file order", () => {
  const q = "What is the smallest country of at least one square mile?";
  const fromJson = run("truthfulqa", { question: q, mc1_targets: MC1_DICT, mc2_targets: MC2_DICT });
  const fromParquet = run("truthfulqa", { question: q, mc1_targets: MC1, mc2_targets: MC2 });
  assert.deepEqual(fromJson, { question: q, mc1_targets: MC1, mc2_targets: MC2 });
  assert.deepEqual(fromParquet, fromJson);
  // A key like "42" would have been moved first by JSON.parse: its order cannot be trusted.
  refused("truthfulqa", { mc1_targets: { "Seven.": 1, "42": 0 }, mc2_targets: MC2 }, /"42".*Parquet/);
  refused("truthfulqa", { mc1_targets: { "No.": 0, "Yes.": 1 }, mc2_targets: MC2 }, /one true answer first/);
  refused("truthfulqa", { mc1_targets: MC1, mc2_targets: { "A.": 2 } }, /labels must be 1 or 0, not 2/);
  refused(
    "truthfulqa",
    { mc1_targets: MC1, mc2_targets: { choices: ["a"], labels: [1, 0] } },
    /1 choices and 2 labels/,
  );
  refused("truthfulqa", { Question: q, "Best Answer": "Nauru." }, /no field "mc1_targets"/);
});

test("winogrande: two contexts up to the blank, the rest as the continuation", () => {
  const doc = {
    qID: "3FCO4-2",
    sentence: "Sarah was a much better surgeon than Maria so _ always got the easier cases. ",
    option1: "Sarah",
    option2: "Maria",
    answer: "2",
  };
  assert.deepEqual(run("winogrande", doc), {
    ...doc,
    contexts: [
      "Sarah was a much better surgeon than Maria so Sarah",
      "Sarah was a much better surgeon than Maria so Maria",
    ],
    continuation: "always got the easier cases.",
    gold: 1,
  });
  assert.equal(run("winogrande", { ...doc, answer: "1" }).gold, 0);
  refused("winogrande", { ...doc, sentence: "No blank here." }, /holds no "_"/);
  // Two blanks: the harness takes the first.
  const two = run("winogrande", { ...doc, sentence: "A _ and _ b." });
  assert.deepEqual([two.contexts, two.continuation], [["A Sarah", "A Maria"], "and _ b."]);
  refused("winogrande", { ...doc, answer: 2 }, /"answer" must be "1" or "2", not 2/);
  refused("winogrande", { ...doc, answer: "" }, /without labels/);
});

test("arc: gold is the answerKey's place among the labels, letters or digits, in both layouts", () => {
  const digits = {
    id: "MCAS_1999_8_29",
    question: {
      stem: "Which of these is a mixture?",
      choices: [
        { text: "salt", label: "1" },
        { text: "sugar", label: "2" },
        { text: "trail mix", label: "3" },
        { text: "water", label: "4" },
      ],
    },
    answerKey: "3",
  };
  const expected = {
    id: "MCAS_1999_8_29",
    question: "Which of these is a mixture?",
    choices: ["salt", "sugar", "trail mix", "water"],
    labels: ["1", "2", "3", "4"],
    answerKey: "3",
    gold: 2,
  };
  assert.deepEqual(run("arc", digits), expected);
  const hf = {
    id: "MCAS_1999_8_29",
    question: "Which of these is a mixture?",
    choices: { text: ["salt", "sugar", "trail mix", "water"], label: ["1", "2", "3", "4"] },
    answerKey: "3",
  };
  assert.deepEqual(run("arc", hf), expected);
  const letters = {
    question: { stem: "Q?", choices: ["w", "x", "y"].map((text, i) => ({ text, label: "ABC"[i] })) },
    answerKey: "C",
  };
  assert.equal(run("arc", letters).gold, 2);
  refused("arc", { ...letters, answerKey: "D" }, /answerKey "D" is not one of the labels A, B, C/);
  refused("arc", { ...digits, answerKey: "C" }, /answerKey "C" is not one of the labels 1, 2, 3, 4/);
  refused("arc", { ...hf, choices: { text: ["a"], label: ["A", "B"] } }, /1 texts and 2 labels/);
});

test("mmlu: the four columns as choices and the answer letter as gold; the Parquet form too", () => {
  const row = {
    question: "Find the degree of Q(sqrt(2)) over Q.",
    A: "0",
    B: "4",
    C: "2",
    D: "6",
    answer: "C",
  };
  assert.deepEqual(run("mmlu", row), { ...row, choices: ["0", "4", "2", "6"], gold: 2 });
  const hf = {
    question: row.question,
    subject: "abstract_algebra",
    choices: ["0", "4", "2", "6"],
    answer: 2,
  };
  assert.deepEqual(run("mmlu", hf), { ...hf, gold: 2 });
  refused("mmlu", { ...row, answer: "" }, /one of A, B, C, D, not ""/);
  refused("mmlu", { ...row, answer: "E" }, /one of A, B, C, D, not "E"/);
  refused("mmlu", { ...hf, answer: 4 }, /not the index of one of the 4 choices/);
  refused("mmlu", { question: "q", A: "a", B: "b", C: "c", answer: "A" }, /no field "D"/);
});

test("the registry names its processors; an unknown name is a usage error listing them", () => {
  assert.deepEqual(Object.keys(DOC_PROCESSORS).sort(), [
    "arc",
    "hellaswag",
    "mmlu",
    "truthfulqa",
    "winogrande",
  ]);
  assert.throws(() => docProcessor("hellaswag2"), /no processor "hellaswag2" \(known: hellaswag, truthfulqa/);
  assert.throws(() => docProcessor("toString"), UsageError);
  // The place is the failing record's, not the first one's.
  const docs = [
    { sentence: "A _ b", option1: "x", option2: "y", answer: "1" },
    { sentence: "A b", option1: "x", option2: "y", answer: "1" },
  ];
  assert.throws(
    () => processDocs("winogrande", docs, (i) => `w.jsonl:${i + 1}`),
    /^UsageError: w.jsonl:2: "sentence" holds no "_"/,
  );
});
