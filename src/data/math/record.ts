import type { Problem } from "./problem.js";
import { questionText, solutionText } from "./problem.js";
import type { Step } from "./steps.js";
import type { Level } from "./template.js";

export interface ChatMessage {
  readonly role: "user" | "assistant";
  readonly content: string;
}

/**
 * One line of train.jsonl or test.jsonl: the chat pair SFT reads, the gold answer as a string (as
 * GSM8K gives it) and level that evaluation reports by, and the problem itself (template, numbers,
 * steps) so a checker or a later slip generator needs nothing but the record.
 */
export interface MathRecord {
  readonly messages: readonly [ChatMessage, ChatMessage];
  readonly level: Level;
  readonly answer: string;
  /** Unique per record: the problem's id and the wording ("L2-000017-w3"). */
  readonly id: string;
  /** Shared by the rephrasings of one problem. */
  readonly problem_id: string;
  readonly template: string;
  /** Which wording of the template (see wordingCount): rephrasings of one problem differ here. */
  readonly wording: number;
  /** Template and numbers: the identity of the problem that keeps the splits disjoint. */
  readonly key: string;
  readonly numbers: Readonly<Record<string, number>>;
  readonly steps: readonly Step[];
}

export function problemId(level: Level, index: number): string {
  return `L${level}-${String(index).padStart(6, "0")}`;
}

export function toRecord(p: Problem, problemIdValue: string, wording: number): MathRecord {
  return {
    messages: [
      { role: "user", content: questionText(p, wording) },
      { role: "assistant", content: solutionText(p) },
    ],
    level: p.template.level,
    answer: String(p.answer),
    id: `${problemIdValue}-w${wording}`,
    problem_id: problemIdValue,
    template: p.template.name,
    wording,
    key: p.key,
    numbers: p.givens,
    steps: p.steps,
  };
}
