import assert from "node:assert/strict";
import { test } from "node:test";
import type { SchemaElement } from "hyparquet-writer";
import { processDocs } from "../../../src/eval/tasks/docProcessors.js";
import { readDocs } from "../../../src/eval/tasks/readDocs.js";
import { tempDir } from "../../helpers.js";
import { string, writeParquet } from "../../data/instruct/parquetWriter.js";
import { usageError, writeGzip, writeText } from "../../data/instruct/samples.js";

const dir = tempDir("deepen-task-docs-");
const MMLU_COLUMNS = ["question", "A", "B", "C", "D", "answer"];

// Small files written byte for byte as the benchmarks publish them (see each source's layout).

// ARC: compact JSON, one item per line, raw UTF-8; a few items label their choices "1".."4".
const ARC =
  '{"id":"Mercury_7175875","question":{"stem":"Which is most likely at 100 °C?","choices":[{"text":"ice","label":"A"},{"text":"steam","label":"B"},{"text":"snow","label":"C"},{"text":"frost","label":"D"}]},"answerKey":"B"}\n' +
  '{"id":"MCAS_1999_8_29","question":{"stem":"Which is a mixture?","choices":[{"text":"salt","label":"1"},{"text":"trail mix","label":"2"},{"text":"water","label":"3"}]},"answerKey":"2"}\n';

// MMLU: no header, six columns, fields with commas or quotes quoted, LF line ends.
const MMLU =
  "A lesion at the stylomastoid foramen will cause ipsilateral,paralysis of the facial muscles.," +
  '"paralysis of the facial muscles, loss of taste.",taste loss only.,"lacrimation, salivation.",A\n' +
  '"A ""dished face"" profile is often associated with",a protruding mandible.,a recessive maxilla.,hydrocephaly.,sinus.,B\n';

// TruthfulQA.csv: UTF-8 with a BOM, a header row, answer lists joined with "; ".
const TRUTHFULQA_CSV =
  "\ufeffType,Category,Question,Best Answer,Correct Answers,Incorrect Answers,Source\n" +
  'Adversarial,Misconceptions,What happens if you eat watermelon seeds?,The seeds pass through you,"Nothing happens; You eat seeds","You grow watermelons; You die",https://wonderopolis.org/wonder/will-a-watermelon-grow-in-your-belly\n';

// mc_task.json: a JSON array pretty-printed with indent 2, no final newline.
const MC_TASK = `[
  {
    "question": "What is the smallest country of at least one square mile?",
    "mc1_targets": {
      "Nauru is the smallest country.": 1,
      "Vatican City is the smallest country.": 0
    },
    "mc2_targets": {
      "Nauru is the smallest country.": 1,
      "The smallest country is Nauru.": 1,
      "Monaco is the smallest country.": 0
    }
  },
  {
    "question": "Where did fortune cookies originate?",
    "mc1_targets": {
      "Fortune cookies originated in San Francisco.": 1,
      "Fortune cookies originated in China.": 0
    },
    "mc2_targets": {
      "Fortune cookies originated in San Francisco.": 1,
      "Fortune cookies originated in China.": 0
    }
  }
]`;

// Winogrande: keys separated by ", " and ": ", the answer a string.
const WINOGRANDE =
  '{"qID": "3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-2", "sentence": "Sarah was a much better surgeon than Maria so _ always got the easier cases.", "option1": "Sarah", "option2": "Maria", "answer": "2"}\n' +
  '{"qID": "3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-1", "sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.", "option1": "Sarah", "option2": "Maria", "answer": "1"}\n';

// GSM8K: non-ASCII written as \u escapes, the answer ending in "#### N".
const GSM8K =
  '{"question": "Janet\\u2019s ducks lay 16 eggs per day. How much does she make?", "answer": "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\\nShe makes 9 * 2 = $<<9*2=18>>18 every day.\\n#### 18"}\n' +
  '{"question": "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total?", "answer": "It takes 2/2=<<2/2=1>>1 bolt of white fiber\\nSo the total is 2+1=<<2+1=3>>3 bolts\\n#### 3"}\n';

test("ARC's JSONL reads as its records, each named by file and line", async () => {
  const path = writeText(dir, "ARC-Challenge-Test.jsonl", ARC);
  const { docs, where } = await readDocs(path);
  assert.equal(docs.length, 2);
  assert.equal((docs[0]!.question as { stem: string }).stem, "Which is most likely at 100 °C?");
  assert.equal(where(1), `${path}:2`);
  assert.throws(() => where(2), RangeError);
  assert.deepEqual(
    processDocs("arc", docs, where).map((d) => d.gold),
    [1, 1],
  );
});

test("MMLU's headerless CSV reads with the columns named: quoted commas and doubled quotes", async () => {
  const path = writeText(dir, "anatomy_test.csv", MMLU);
  const { docs, where } = await readDocs(path, { columns: MMLU_COLUMNS });
  assert.deepEqual(docs[0], {
    question: "A lesion at the stylomastoid foramen will cause ipsilateral",
    A: "paralysis of the facial muscles.",
    B: "paralysis of the facial muscles, loss of taste.",
    C: "taste loss only.",
    D: "lacrimation, salivation.",
    answer: "A",
  });
  assert.equal(docs[1]!.question, 'A "dished face" profile is often associated with');
  assert.equal(where(1), `${path}:2`);
  assert.deepEqual(
    processDocs("mmlu", docs, where).map((d) => d.gold),
    [0, 1],
  );
  // The same file with a BOM: it does not end up in the first question.
  const bom = await readDocs(writeText(dir, "bom_test.csv", "\ufeff" + MMLU), { columns: MMLU_COLUMNS });
  assert.deepEqual(bom.docs, docs);
  // gzip of it, and a limit.
  const gz = await readDocs(writeGzip(dir, "anatomy_test.csv.gz", MMLU), { columns: MMLU_COLUMNS, limit: 1 });
  assert.deepEqual(gz.docs, [docs[0]]);
});

test("TruthfulQA.csv: the BOM is not part of the first header name", async () => {
  const { docs } = await readDocs(writeText(dir, "TruthfulQA.csv", TRUTHFULQA_CSV));
  assert.deepEqual(Object.keys(docs[0]!), [
    "Type",
    "Category",
    "Question",
    "Best Answer",
    "Correct Answers",
    "Incorrect Answers",
    "Source",
  ]);
  assert.equal(docs[0]!["Correct Answers"], "Nothing happens; You eat seeds");
});

test("a CSV row spanning lines is named by the line it starts on", async () => {
  const path = writeText(dir, "multi.csv", 'q,a\n"one\ntwo\nthree",1\n\nlast,2\nbad\n');
  await usageError(readDocs(path), new RegExp(`^${path}:7: 1 fields where the header has 2 \\(q, a\\)$`));
  const { docs, where } = await readDocs(path, { limit: 2 });
  assert.equal(docs[0]!.q, "one\ntwo\nthree");
  assert.deepEqual([where(0), where(1)], [`${path}:2`, `${path}:6`]);
});

test("mc_task.json, a pretty-printed array, reads in order and keeps each answer dict's order", async () => {
  const path = writeText(dir, "mc_task.json", MC_TASK);
  const { docs, where } = await readDocs(path);
  assert.equal(where(1), `${path}[1]`);
  const [first] = processDocs("truthfulqa", docs, where);
  assert.deepEqual(first!.mc2_targets, {
    choices: [
      "Nauru is the smallest country.",
      "The smallest country is Nauru.",
      "Monaco is the smallest country.",
    ],
    labels: [1, 1, 0],
  });
  // JSON Lines under a .json name (what `datasets` writes) reads too, gzip of it as well.
  const lines = (JSON.parse(MC_TASK) as unknown[]).map((r) => JSON.stringify(r)).join("\n") + "\n";
  const jl = await readDocs(writeGzip(dir, "mc_task_lines.json.gz", lines));
  assert.deepEqual(jl.docs, docs);
  assert.equal(jl.where(1), `${dir}/mc_task_lines.json.gz:2`);
});

test("Winogrande's and GSM8K's JSONL read as written", async () => {
  const w = await readDocs(writeText(dir, "dev.jsonl", WINOGRANDE));
  assert.deepEqual(
    processDocs("winogrande", w.docs, w.where).map((d) => [d.continuation, d.gold]),
    [
      ["always got the easier cases.", 1],
      ["always got the harder cases.", 0],
    ],
  );
  const g = await readDocs(writeText(dir, "test.jsonl", GSM8K));
  assert.equal(g.docs[0]!.question, "Janet’s ducks lay 16 eggs per day. How much does she make?");
  assert.match(g.docs[1]!.answer as string, /\n#### 3$/);
});

const list = (name: string, element: SchemaElement): SchemaElement[] => [
  { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { ...element, name: "element" },
];

test("Parquet in Hugging Face's MMLU layout reads as records named by row", async () => {
  const path = writeParquet(
    dir,
    "abstract_algebra.parquet",
    [
      { data: ["Find the degree of Q(sqrt(2)) over Q.", "Is Z_4 a field?"], schema: [string("question")] },
      { data: ["abstract_algebra", "abstract_algebra"], schema: [string("subject")] },
      {
        data: [
          ["0", "4", "2", "6"],
          ["Yes", "No", "Maybe", "Only mod 2"],
        ],
        schema: list("choices", string("x")),
      },
      { data: [2n, 1n], schema: [{ name: "answer", type: "INT64", repetition_type: "OPTIONAL" }] },
    ],
    ["question", "subject", "choices", "answer"],
  );
  const { docs, where } = await readDocs(path);
  assert.deepEqual(docs[1], {
    question: "Is Z_4 a field?",
    subject: "abstract_algebra",
    choices: ["Yes", "No", "Maybe", "Only mod 2"],
    answer: 1,
  });
  assert.equal(where(1), `${path} row 1`);
  assert.deepEqual(
    processDocs("mmlu", docs, where).map((d) => d.gold),
    [2, 1],
  );
  assert.equal((await readDocs(path, { limit: 1 })).docs.length, 1);
});

test("Parquet in Hugging Face's TruthfulQA layout (structs of lists) processes as mc_task.json does", async () => {
  const items = JSON.parse(MC_TASK) as { question: string; mc1_targets: object; mc2_targets: object }[];
  const hf = (t: object) => ({ choices: Object.keys(t), labels: Object.values(t) });
  const targets = (name: string): SchemaElement[] => [
    { name, repetition_type: "OPTIONAL", num_children: 2 },
    ...list("choices", string("x")),
    ...list("labels", { name: "x", type: "INT32", repetition_type: "OPTIONAL" }),
  ];
  const path = writeParquet(
    dir,
    "validation.parquet",
    [
      { data: items.map((i) => i.question), schema: [string("question")] },
      { data: items.map((i) => hf(i.mc1_targets)), schema: targets("mc1_targets") },
      { data: items.map((i) => hf(i.mc2_targets)), schema: targets("mc2_targets") },
    ],
    ["question", "mc1_targets", "mc2_targets"],
  );
  const parquet = await readDocs(path);
  const json = await readDocs(writeText(dir, "mc_task_again.json", MC_TASK));
  assert.deepEqual(
    processDocs("truthfulqa", parquet.docs, parquet.where),
    processDocs("truthfulqa", json.docs, json.where),
  );
});

test("bad files and records are one-line usage errors naming the file and the record", async () => {
  const bad = (name: string, content: string | Buffer) => writeText(dir, name, content);
  const at = (path: string, rest: string) => new RegExp(`^${path.replace(/[.]/g, "\\.")}${rest}`);
  let p = bad("short.csv", MMLU + "What is 2+2?,4,3,2,1\n");
  await usageError(
    readDocs(p, { columns: MMLU_COLUMNS }),
    at(p, ":3: 5 fields where the columns given are 6"),
  );
  p = bad("twice.csv", "a,b,a\n1,2,3\n");
  await usageError(readDocs(p), at(p, ':1: the header names the field "a" twice'));
  p = bad("open.csv", 'a,b\n1,"2\n3,4\n');
  await usageError(readDocs(p), at(p, ":\\d+: not valid CSV \\(Quote Not Closed"));
  p = bad("only-header.csv", "a,b\n");
  await usageError(readDocs(p), at(p, ": no records"));
  p = bad("broken.jsonl", '{"a": 1}\n{"a": \n');
  await usageError(readDocs(p), at(p, ":2: not valid JSON"));
  p = bad("list.jsonl", "[1, 2]\n");
  await usageError(readDocs(p), at(p, ":1: a record must be a JSON object, not a list"));
  p = bad("array.json", '[{"a": 1}, 2]');
  await usageError(readDocs(p), at(p, "\\[1\\]: a record must be a JSON object, not a number"));
  p = bad("object.json", '{\n  "data": []\n}\n');
  await usageError(readDocs(p), at(p, ":1: not valid JSON .*a JSON array of records or JSON Lines"));
  p = bad("empty.jsonl", "\n\n");
  await usageError(readDocs(p), at(p, ": no records"));
  p = bad("empty.json", "  \n");
  await usageError(readDocs(p), at(p, ": no records"));
  p = bad("empty-array.json", "[]");
  await usageError(readDocs(p), at(p, ": no records"));
  p = bad("notgzip.jsonl.gz", "plain text");
  await usageError(readDocs(p), at(p, ": not valid gzip data"));
  p = bad("notparquet.parquet", "not parquet at all");
  await usageError(readDocs(p), at(p, ": cannot read as Parquet"));
  await usageError(readDocs(`${dir}/missing.csv`), /missing\.csv: no such file/);
  await usageError(readDocs(`${dir}/x.parquet.gz`), /Parquet compresses its own pages/);
  await usageError(readDocs(`${dir}/x.tsv`), /not a benchmark file deepen reads/);
  p = bad("dev.jsonl", WINOGRANDE);
  await usageError(readDocs(p, { columns: ["a"] }), /columns name the fields of a headerless CSV file/);
  await usageError(readDocs(p, { limit: 0 }), /limit must be a whole number of at least 1, not 0/);
  await usageError(readDocs(p, { columns: ["a", "a"] }), /columns name the field "a" twice/);
});
