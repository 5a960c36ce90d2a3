// Preference pairs for DPO in TRL's conversational form: the question, the correct worked solution
// (chosen) and the same solution with one slip carried through to a wrong answer (rejected). Both
// answers share every sentence up to the slip, so the only thing the pair teaches is the slip.
import { Draw } from "./draw.js";
import { solutionText, type Problem } from "./problem.js";
import type { ChatMessage, MathRecord } from "./record.js";
import { drawSlip, type Slip, type SlipKind } from "./slips.js";
import type { Level } from "./template.js";

/** One line of pairs-train.jsonl or pairs-test.jsonl. */
export interface PreferencePair {
  readonly prompt: readonly [ChatMessage];
  readonly chosen: readonly [ChatMessage];
  readonly rejected: readonly [ChatMessage];
  readonly slip: SlipKind;
  /** Which step (0-based: the solution's line) has the slip; every other line is right given its operands. */
  readonly slip_step: number;
  readonly level: Level;
  readonly answer: string;
  readonly rejected_answer: string;
  /** The record the pair is made from (train.jsonl or test.jsonl), and its problem. */
  readonly id: string;
  readonly problem_id: string;
  readonly template: string;
}

/**
 * The stream a record's slip is drawn from: its own, named by the seed and the record's id, so the
 * slip does not depend on which other records are made (levels, --n) and drawing it leaves the
 * problem streams, hence train.jsonl and test.jsonl, as they are.
 */
export function slipStream(seed: number, recordId: string): Draw {
  return Draw.named("deepen-math-slip", seed, recordId);
}

/** The pair for `record` (made from `p`) with the given slip. */
export function pairWithSlip(p: Problem, record: MathRecord, slip: Slip): PreferencePair {
  if (record.key !== p.key) throw new Error(`record ${record.id} is not of problem ${p.key}`);
  const [question, solution] = record.messages;
  return {
    prompt: [question],
    chosen: [solution],
    rejected: [{ role: "assistant", content: solutionText(p, slip.steps) }],
    slip: slip.kind,
    slip_step: slip.step,
    level: record.level,
    answer: record.answer,
    rejected_answer: String(slip.answer),
    id: record.id,
    problem_id: record.problem_id,
    template: record.template,
  };
}

/**
 * The preference pair of one record of problem `p`, its slip drawn from slipStream(seed, record.id):
 * what `deepen data math --preference` writes for that record. Undefined when the problem admits no
 * slip that keeps the text plausible and changes the answer (rare; such records get no pair).
 */
export function preferencePair(p: Problem, record: MathRecord, seed: number): PreferencePair | undefined {
  const slip = drawSlip(p.template, p.givens, slipStream(seed, record.id));
  return slip && pairWithSlip(p, record, slip);
}
