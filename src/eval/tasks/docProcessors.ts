// lm-evaluation-harness's `process_docs` for the benchmarks deepen evaluates, by the name a task file
// gives (`process_docs: hellaswag`). Each turns a record as the benchmark's file holds it into what
// the task's prompts read, as the harness's own code does, and keeps the record's other fields (the
// harness maps a Hugging Face dataset, which adds columns). Where a benchmark ships in two layouts,
// its original files and the Hugging Face Parquet conversion, both give the same document.
// A record that cannot be processed throws BadRecord with the reason; processDocs names its place.

import { BadRecord } from "../../data/instruct/badRecord.js";
import { describe } from "../../data/corpus.js";
import { UsageError } from "../../errors.js";
import { pyCompile, pyRemove } from "./pythonRegex.js";
import { pyCapitalize, pyStrip } from "./pythonStr.js";
import type { Doc } from "./readDocs.js";

export type DocProcessor = (doc: Doc) => Doc;

function field(doc: Doc, name: string): unknown {
  if (!(name in doc)) throw new BadRecord(`no field "${name}"`);
  return doc[name];
}

function text(doc: Doc, name: string): string {
  const v = field(doc, name);
  if (typeof v !== "string") throw new BadRecord(`"${name}" must be a string, not ${describe(v)}`);
  return v;
}

function texts(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    throw new BadRecord(`"${name}" must be a list of strings, not ${describe(v)}`);
  return v as string[];
}

/** Python's `int(label)` for a label stored as a number (the JSONL) or a string (the Parquet). */
function integer(v: unknown, name: string): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
  throw new BadRecord(
    `"${name}" must be an integer, not ${JSON.stringify(v)}` +
      (v === "" ? " (a test split without labels cannot be scored)" : ""),
  );
}

/** The gold index, checked to name one of the choices. */
function gold(index: number, choices: readonly unknown[], name: string): number {
  if (index < 0 || index >= choices.length)
    throw new BadRecord(`"${name}" ${index} is not the index of one of the ${choices.length} choices`);
  return index;
}

const BRACKETED = pyCompile("\\[.*?\\]");

/** HellaSwag's clean-up of WikiHow's artifacts ("[title]", "[header]", "[step]"), as the harness's
 * `preprocess`: strip, " [title]" to ". ", bracketed text removed, double spaces halved once. */
export function hellaswagPreprocess(s: string): string {
  s = pyStrip(s).replaceAll(" [title]", ". ");
  return pyRemove(BRACKETED, s).replaceAll("  ", " ");
}

function hellaswag(doc: Doc): Doc {
  const ctx = text(doc, "ctx_a") + " " + pyCapitalize(text(doc, "ctx_b"));
  const choices = texts(field(doc, "endings"), "endings").map(hellaswagPreprocess);
  return {
    ...doc,
    query: hellaswagPreprocess(text(doc, "activity_label") + ": " + ctx),
    choices,
    gold: gold(integer(field(doc, "label"), "label"), choices, "label"),
  };
}

/** Whether `key` is an array index ("0" to "4294967294"): an object lists such keys first, in
 * numeric order, whatever their place in the JSON text. */
const isArrayIndex = (key: string) => /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;

/** TruthfulQA's answers and labels, from mc_task.json's `{answer: 1|0}` (in its key order) or the
 * Hugging Face form `{choices, labels}`. */
function targets(doc: Doc, name: string): { choices: string[]; labels: number[] } {
  const v = field(doc, name);
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new BadRecord(`"${name}" must be an object, not ${describe(v)}`);
  const o = v as Record<string, unknown>;
  let choices: string[];
  let labels: unknown[];
  if (Array.isArray(o.choices) && Array.isArray(o.labels) && Object.keys(o).length === 2) {
    choices = texts(o.choices, `${name}.choices`);
    labels = o.labels;
    if (labels.length !== choices.length)
      throw new BadRecord(`"${name}" has ${choices.length} choices and ${labels.length} labels`);
  } else {
    choices = Object.keys(o);
    // The order is the score's (mc1's gold is the first answer), and it cannot be recovered once
    // JSON.parse has moved a key like "42" to the front.
    const moved = choices.find(isArrayIndex);
    if (moved !== undefined)
      throw new BadRecord(
        `"${name}" has the answer ${JSON.stringify(moved)}, whose place in the file a JSON object does not keep; use the Parquet form`,
      );
    labels = Object.values(o);
  }
  if (choices.length === 0) throw new BadRecord(`"${name}" has no answers`);
  const bad = labels.find((l) => l !== 0 && l !== 1);
  if (bad !== undefined) throw new BadRecord(`"${name}" labels must be 1 or 0, not ${JSON.stringify(bad)}`);
  return { choices, labels: labels as number[] };
}

function truthfulqa(doc: Doc): Doc {
  const mc1 = targets(doc, "mc1_targets");
  // The harness scores mc1 as "the first answer is the true one" (doc_to_target: 0).
  if (mc1.labels[0] !== 1 || mc1.labels.slice(1).includes(1))
    throw new BadRecord(`"mc1_targets" must have its one true answer first`);
  return { ...doc, mc1_targets: mc1, mc2_targets: targets(doc, "mc2_targets") };
}

/** Winogrande's partial scoring: the sentence up to the blank with each option is the context, the
 * rest of the sentence the continuation scored after it. */
function winogrande(doc: Doc): Doc {
  const sentence = text(doc, "sentence");
  const idx = sentence.indexOf("_");
  // The harness takes the first "_" as the blank.
  if (idx < 0) throw new BadRecord(`"sentence" holds no "_" (the blank)`);
  const answer = field(doc, "answer");
  if (answer !== "1" && answer !== "2")
    throw new BadRecord(
      `"answer" must be "1" or "2", not ${JSON.stringify(answer)}` +
        (answer === "" ? " (a test split without labels cannot be scored)" : ""),
    );
  const before = sentence.slice(0, idx);
  return {
    ...doc,
    contexts: [before + text(doc, "option1"), before + text(doc, "option2")],
    continuation: pyStrip(sentence.slice(idx + 1)),
    gold: answer === "1" ? 0 : 1,
  };
}

/** ARC: `question` becomes the stem and `choices` the answers' texts, from the original JSONL
 * (`question: {stem, choices: [{text, label}]}`) or the Hugging Face form (`question` a string,
 * `choices: {text: [...], label: [...]}`); `gold` is the answerKey's place among the labels, which are
 * "A".."E" or, for a few items, "1".."5" (the harness's `choices.label.index(answerKey)`). */
function arc(doc: Doc): Doc {
  const question = field(doc, "question");
  let stem: string;
  let answers: string[];
  let labels: string[];
  if (typeof question === "object" && question !== null && !Array.isArray(question)) {
    const q = question as Doc;
    stem = text(q, "stem");
    const list = field(q, "choices");
    if (!Array.isArray(list)) throw new BadRecord(`"question.choices" must be a list, not ${describe(list)}`);
    const choices = list.map((c) => {
      if (typeof c !== "object" || c === null)
        throw new BadRecord(`a choice must be an object, not ${describe(c)}`);
      return { text: text(c as Doc, "text"), label: text(c as Doc, "label") };
    });
    answers = choices.map((c) => c.text);
    labels = choices.map((c) => c.label);
  } else if (typeof question === "string") {
    stem = question;
    const c = field(doc, "choices");
    if (typeof c !== "object" || c === null)
      throw new BadRecord(`"choices" must be an object, not ${describe(c)}`);
    answers = texts(field(c as Doc, "text"), "choices.text");
    labels = texts(field(c as Doc, "label"), "choices.label");
    if (labels.length !== answers.length)
      throw new BadRecord(`"choices" has ${answers.length} texts and ${labels.length} labels`);
  } else throw new BadRecord(`"question" must be an object or a string, not ${describe(question)}`);
  const key = text(doc, "answerKey");
  const index = labels.indexOf(key);
  if (index < 0)
    throw new BadRecord(`answerKey ${JSON.stringify(key)} is not one of the labels ${labels.join(", ")}`);
  return { ...doc, question: stem, choices: answers, labels, gold: index };
}

const LETTERS = ["A", "B", "C", "D"];

/** MMLU: the four choices and the gold index, from the original CSV's columns question,A,B,C,D,answer
 * (answer a letter) or the Hugging Face form (`choices` a list of four, `answer` an index). */
function mmlu(doc: Doc): Doc {
  text(doc, "question");
  if ("choices" in doc && !("A" in doc)) {
    const choices = texts(doc.choices, "choices");
    if (choices.length !== 4) throw new BadRecord(`"choices" must hold 4 answers, not ${choices.length}`);
    return { ...doc, choices, gold: gold(integer(field(doc, "answer"), "answer"), choices, "answer") };
  }
  const choices = LETTERS.map((l) => text(doc, l));
  const answer = text(doc, "answer");
  const index = LETTERS.indexOf(answer);
  if (index < 0) throw new BadRecord(`"answer" must be one of A, B, C, D, not ${JSON.stringify(answer)}`);
  return { ...doc, choices, gold: index };
}

/** The processors by the name a task file gives. */
export const DOC_PROCESSORS: Readonly<Record<string, DocProcessor>> = {
  hellaswag,
  truthfulqa,
  winogrande,
  arc,
  mmlu,
};

/** The processor named `name`; UsageError naming the known ones otherwise. */
export function docProcessor(name: string): DocProcessor {
  const p = Object.hasOwn(DOC_PROCESSORS, name) ? DOC_PROCESSORS[name] : undefined;
  if (p === undefined)
    throw new UsageError(
      `process_docs: no processor "${name}" (known: ${Object.keys(DOC_PROCESSORS).join(", ")})`,
    );
  return p;
}

/** Every doc through the processor named `name`. UsageError naming the record (`where(i)`) and the
 * reason for the first one that cannot be processed. */
export function processDocs(name: string, docs: readonly Doc[], where: (i: number) => string): Doc[] {
  const process = docProcessor(name);
  return docs.map((doc, i) => {
    try {
      return process(doc);
    } catch (e) {
      if (e instanceof BadRecord) throw new UsageError(`${where(i)}: ${e.message}`);
      throw e;
    }
  });
}
