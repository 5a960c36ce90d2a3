// Plausible slips for DPO's rejected answers: one step of a worked solution done wrong the way a
// person (or a model) gets it wrong on paper, the wrong value carried through every later step by
// runPlan. A slip is only kept when every value the text states stays a non-negative integer (a count
// of items cannot be -3 or 2.5) and the final answer changes (a slip that cancels out teaches nothing).
import type { Draw } from "./draw.js";
import { answerOf, MAX_VALUE } from "./problem.js";
import {
  applyOp,
  isCount,
  isWellFormedStep,
  runPlan,
  type Op,
  type Step,
  type StepOverride,
} from "./steps.js";
import type { Template } from "./template.js";

export const SLIP_KINDS = ["dropped_carry", "swapped_operation", "off_by_one"] as const;
export type SlipKind = (typeof SLIP_KINDS)[number];

/** One slip and what it leads to: the steps as written with it, and their (wrong) answer. */
export interface Slip {
  readonly kind: SlipKind;
  /** Index of the slipped step (0-based: the solution's line). */
  readonly step: number;
  readonly steps: readonly Step[];
  readonly answer: number;
}

/** Decimal digits, least significant first. */
function digits(n: number): number[] {
  return [...String(n)].reverse().map(Number);
}

/** Columns (least significant first) put back together; the top column is written in full. */
function fromColumns(columns: readonly number[]): number {
  return columns.reduce((sum, c, i) => sum + c * 10 ** i, 0);
}

/**
 * Column arithmetic with every carry (or borrow) lost: each column keeps only its last digit, except
 * the leftmost, written in full as on paper. 17 + 26 → 33, 43 − 17 → 36 (3 − 7 taken as 13 − 7
 * without paying the borrow back), 17 × 3 → 31. Multiplication only by a one-digit number (long
 * multiplication has partial products, a different slip). Undefined where the op has no columns.
 */
export function withoutCarry(op: Op, a: number, b: number): number | undefined {
  if (!isCount(a) || !isCount(b)) return undefined;
  if (op === "+" || op === "-") {
    if (op === "-" && a < b) return undefined;
    const da = digits(a);
    const db = digits(b);
    const width = Math.max(da.length, db.length);
    const columns = [...Array(width).keys()].map((i) => {
      const x = da[i] ?? 0;
      const y = db[i] ?? 0;
      // A subtraction's top column never borrows when a ≥ b, so taking it mod 10 is writing it in full.
      if (op === "-") return (x - y + 10) % 10;
      return i < width - 1 ? (x + y) % 10 : x + y;
    });
    return fromColumns(columns);
  }
  if (op === "*") {
    const [many, one] = b < 10 ? [a, b] : a < 10 ? [b, a] : [undefined, undefined];
    if (many === undefined || one === undefined) return undefined;
    const dm = digits(many);
    return fromColumns(dm.map((x, i) => (i < dm.length - 1 ? (x * one) % 10 : x * one)));
  }
  return undefined;
}

/**
 * The operation mistaken for `op`, applied to the same operands: + and − for each other, × for ÷
 * (exact divisions only) and ÷ for × where it divides exactly, else + for ×. A division whose
 * remainder is part of the story and a percentage have no swap that keeps the sentence meaningful.
 */
function swappedOp(op: Op, a: number, b: number, withRemainder: boolean): Op | undefined {
  switch (op) {
    case "+":
      return "-";
    case "-":
      return "+";
    case "*":
      return b > 0 && a % b === 0 ? "/" : "+";
    case "/":
      return withRemainder ? undefined : "*";
    case "%":
      return undefined;
  }
}

/** The ways step `s` (computed from `spec`) can be written wrong by a slip of `kind`. */
function variants(kind: SlipKind, s: Step, withRemainder: boolean): StepOverride[] {
  const { op, a, b } = s;
  switch (kind) {
    case "dropped_carry": {
      const result = withoutCarry(op, a, b);
      return result === undefined || result === s.result ? [] : [{ op, result }];
    }
    case "swapped_operation": {
      const other = swappedOp(op, a, b, withRemainder);
      if (other === undefined || (other === "/" && b === 0)) return [];
      const { result, remainder } = applyOp(other, a, b);
      // Only an exact division reads as a plain swap; a remainder would be a second mistake.
      if (remainder !== undefined && remainder !== 0) return [];
      return [remainder === undefined ? { op: other, result } : { op: other, result, remainder }];
    }
    case "off_by_one": {
      const out: StepOverride[] = [-1, 1].map((e) =>
        s.remainder === undefined
          ? { op, result: s.result + e }
          : { op, result: s.result + e, remainder: s.remainder },
      );
      // Where the remainder is part of the story (eggs left over), it can be the value off by one.
      if (withRemainder && s.remainder !== undefined) {
        for (const e of [-1, 1]) {
          const r = s.remainder + e;
          if (r >= 0 && r < b) out.push({ op, result: s.result, remainder: r });
        }
      }
      return out;
    }
  }
}

/** Whether the slipped step and the steps after it say only what the text can say. */
function isPlausible(template: Template, steps: readonly Step[], at: number): boolean {
  return steps.every((s, i) => {
    if (s.result > MAX_VALUE) return false;
    if (i !== at) return isWellFormedStep(template.steps[i]!, s);
    return isCount(s.result) && (s.remainder === undefined || isCount(s.remainder));
  });
}

/** Every slip of `template`'s solution for `givens` that keeps the text plausible and changes the answer. */
export function slipsOf(template: Template, givens: Readonly<Record<string, number>>): Slip[] {
  const correct = runPlan(template.steps, givens);
  const answer = answerOf(template, correct);
  const out: Slip[] = [];
  correct.forEach((s, step) => {
    const withRemainder = !!template.steps[step]!.withRemainder;
    for (const kind of SLIP_KINDS) {
      for (const v of variants(kind, s, withRemainder)) {
        const steps = runPlan(template.steps, givens, new Map([[step, v]]));
        const wrong = answerOf(template, steps);
        if (wrong !== answer && isPlausible(template, steps, step))
          out.push({ kind, step, steps, answer: wrong });
      }
    }
  });
  return out;
}

/**
 * Draws one slip: first its kind, among the kinds this problem allows (so the three kinds come out
 * about equally often although off-by-one is possible almost everywhere), then which step and which
 * way. Undefined when no slip fits, which the generator counts as a record without a pair.
 */
export function drawSlip(
  template: Template,
  givens: Readonly<Record<string, number>>,
  d: Draw,
): Slip | undefined {
  const all = slipsOf(template, givens);
  const kinds = SLIP_KINDS.filter((k) => all.some((s) => s.kind === k));
  if (kinds.length === 0) return undefined;
  const kind = d.pick(kinds);
  return d.pick(all.filter((s) => s.kind === kind));
}
