// What a task asks of the model for each document, in the harness's layout: the prompt is the
// description, then the few-shot examples (each its text, the target delimiter and its answer) joined
// by the few-shot delimiter, the delimiter again, then the document's own text. Multiple choice asks
// for the log-likelihood of each choice after the prompt; partial scoring (Winogrande) puts each
// choice into the context and scores the shared rest of the sentence; generation asks for a greedy
// answer; rolling asks for the log-likelihood of the whole document.
import { UsageError } from "../../errors.js";
import type { Doc } from "./readDocs.js";
import type { TaskSpec } from "./taskSpec.js";
import { renderText, renderValue } from "./templates.js";

/** One document made ready to score. */
export type Instance =
  | {
      kind: "multiple_choice";
      /** Per choice, the text before the scored part and the scored part. */
      requests: { context: string; continuation: string }[];
      /** The choice strings, whose character lengths acc_norm divides by. */
      choices: string[];
      /** The gold choice; with mc2, every choice whose label is 1. */
      gold: number[];
    }
  | { kind: "generate_until"; context: string; gold: string }
  | { kind: "loglikelihood_rolling"; text: string };

/** The parts of one document that few-shot examples and scoring both need. */
interface Rendered {
  text: string;
  choices?: string[];
  gold?: number[];
  continuation?: string;
  target?: string;
}

function renderDoc(spec: TaskSpec, doc: Doc, where: string): Rendered {
  const what = (key: string) => `${spec.task}: ${where}: ${key}`;
  const text =
    spec.doc_to_continuation === undefined ? renderText(spec.doc_to_text, doc, what("doc_to_text")) : "";
  if (spec.output_type === "loglikelihood_rolling") {
    if (text === "") throw new UsageError(`${what("doc_to_text")}: renders empty (a missing field?)`);
    return { text };
  }
  if (spec.output_type === "generate_until") {
    const target = renderText(spec.doc_to_target!, doc, what("doc_to_target"));
    if (text === "" || target === "")
      throw new UsageError(
        `${what(text === "" ? "doc_to_text" : "doc_to_target")}: renders empty (a missing field?)`,
      );
    return { text, target };
  }
  const raw = Array.isArray(spec.doc_to_choice)
    ? spec.doc_to_choice.map((t) => renderText(t, doc, what("doc_to_choice")))
    : renderValue(spec.doc_to_choice!, doc, what("doc_to_choice"));
  if (!Array.isArray(raw) || raw.length === 0)
    throw new UsageError(`${what("doc_to_choice")}: no choices (an empty list or a missing field)`);
  const choices = raw.map((c) => (typeof c === "string" ? c : JSON.stringify(c)));
  const goldValue = renderValue(spec.doc_to_target!, doc, what("doc_to_target"));
  let gold: number[];
  if (spec.metrics.includes("mc2")) {
    if (
      !Array.isArray(goldValue) ||
      goldValue.length !== choices.length ||
      goldValue.some((l) => l !== 0 && l !== 1)
    )
      throw new UsageError(
        `${what("doc_to_target")}: mc2 needs a 0/1 label for each of the ${choices.length} choices`,
      );
    // As the harness's process_results_mc2: the true answers are those before the first 0 label
    // (the files list them first; a 1 after a 0 counts as false there, and here).
    const split = goldValue.indexOf(0);
    gold = [...Array(split < 0 ? goldValue.length : split).keys()];
    if (gold.length === 0)
      throw new UsageError(`${what("doc_to_target")}: no true answer before the first false one`);
  } else {
    gold = [goldIndex(spec, doc, goldValue, choices, what)];
  }
  const continuation =
    spec.doc_to_continuation === undefined
      ? undefined
      : renderText(spec.doc_to_continuation, doc, what("doc_to_continuation"));
  return { text, choices, gold, continuation };
}

function goldIndex(
  spec: TaskSpec,
  doc: Doc,
  value: unknown,
  choices: string[],
  what: (k: string) => string,
): number {
  let index: number | undefined;
  if (typeof value === "number" || (typeof value === "string" && /^\d+$/.test(value) && !spec.choice_labels))
    index = Number(value);
  else if (typeof value === "string") {
    const labels = spec.choice_labels ? renderValue(spec.choice_labels, doc, what("choice_labels")) : choices;
    if (!Array.isArray(labels)) throw new UsageError(`${what("choice_labels")}: not a list`);
    index = labels.map(String).indexOf(value);
    if (index < 0)
      throw new UsageError(
        `${what("doc_to_target")}: gold ${JSON.stringify(value)} is not among ${JSON.stringify(labels)}`,
      );
  }
  if (index === undefined || !Number.isInteger(index) || index < 0 || index >= choices.length)
    throw new UsageError(
      `${what("doc_to_target")}: gold ${JSON.stringify(value)} is not among the ${choices.length} choices`,
    );
  return index;
}

/** A document as a few-shot example: its prompt with the gold answer written after it. */
function shotText(spec: TaskSpec, r: Rendered): string {
  const d = spec.target_delimiter;
  if (spec.output_type === "generate_until") return r.text + d + r.target!;
  if (r.continuation !== undefined) return r.choices![r.gold![0]!]! + d + r.continuation;
  return r.text + d + r.choices![r.gold![0]!]!;
}

export class InstanceBuilder {
  private readonly rendered = new Map<Doc, Rendered>();
  constructor(private readonly spec: TaskSpec) {}

  render(doc: Doc, where: string): Rendered {
    let r = this.rendered.get(doc);
    if (!r) {
      r = renderDoc(this.spec, doc, where);
      this.rendered.set(doc, r);
    }
    return r;
  }

  /** The prompt before a document's own text: description and few-shot examples. */
  prefix(doc: Doc, where: string, shots: readonly { doc: Doc; where: string }[]): string {
    const spec = this.spec;
    const description = spec.description
      ? renderText(spec.description, doc, `${spec.task}: ${where}: description`)
      : "";
    if (shots.length === 0) return description;
    return (
      description +
      shots.map((s) => shotText(spec, this.render(s.doc, s.where))).join(spec.fewshot_delimiter) +
      spec.fewshot_delimiter
    );
  }

  instance(doc: Doc, where: string, shots: readonly { doc: Doc; where: string }[]): Instance {
    const spec = this.spec;
    const r = this.render(doc, where);
    const prefix = this.prefix(doc, where, shots);
    if (spec.output_type === "loglikelihood_rolling") return { kind: "loglikelihood_rolling", text: r.text };
    if (spec.output_type === "generate_until")
      return { kind: "generate_until", context: prefix + r.text, gold: r.target! };
    const d = spec.target_delimiter;
    const requests =
      r.continuation !== undefined
        ? r.choices!.map((c) => ({ context: prefix + c, continuation: d + r.continuation! }))
        : r.choices!.map((c) => ({ context: prefix + r.text, continuation: d + c }));
    return { kind: "multiple_choice", requests, choices: r.choices!, gold: r.gold! };
  }
}
