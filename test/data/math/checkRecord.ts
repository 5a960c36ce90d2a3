// An independent check of a generated record: it reads only the record's text and fields, never the
// generator's templates or step code, and redoes the arithmetic line by line.
import assert from "node:assert/strict";
import type { MathRecord } from "../../../src/data/math/record.js";

// Constants a solution may use without the question stating them: doubling a perimeter, a dozen,
// one more bus.
const KNOWN = new Set([1, 2, 12]);

const EQUATION = /(\d+) ([-+*/]) (\d+) = (\d+)(?: remainder (\d+))?|(\d+)% of (\d+) = (\d+)/g;

export interface Parsed {
  readonly op: string;
  readonly a: number;
  readonly b: number;
  readonly result: number;
  readonly remainder?: number;
}

/** The equation on each step line of a solution (all lines but the last). */
export function parseSteps(solution: string): Parsed[] {
  const lines = solution.split("\n");
  return lines.slice(0, -1).map((line) => {
    const found = [...line.matchAll(EQUATION)];
    assert.equal(found.length, 1, `one equation per step line: ${line}`);
    const m = found[0]!;
    if (m[6] !== undefined) return { op: "%", a: Number(m[6]), b: Number(m[7]), result: Number(m[8]) };
    const step = { op: m[2]!, a: Number(m[1]), b: Number(m[3]), result: Number(m[4]) };
    return m[5] === undefined ? step : { ...step, remainder: Number(m[5]) };
  });
}

/** Redoes one step's arithmetic. */
export function checkStep(s: Parsed): void {
  const { a, b, result } = s;
  const eq = `${a} ${s.op} ${b} = ${result}`;
  if (s.op === "+") assert.equal(a + b, result, eq);
  else if (s.op === "-") assert.equal(a - b, result, eq);
  else if (s.op === "*") assert.equal(a * b, result, eq);
  else if (s.op === "%") assert.equal(a * b, result * 100, eq);
  else {
    const r = s.remainder ?? 0;
    assert.ok(r < b, `${eq}: remainder ${r} is less than ${b}`);
    assert.equal(result * b + r, a, `${eq} remainder ${r}`);
  }
}

/**
 * Checks the steps of a solution to `question`: each step's arithmetic, except the step `slipped` (a
 * rejected answer's slip, checked by its caller), and that each operand is a number of the question,
 * an earlier result or remainder, or a known constant.
 */
export function checkLines(
  question: string,
  steps: readonly Parsed[],
  solution: string,
  slipped?: number,
): void {
  const known = new Set([...KNOWN, ...(question.match(/\d+/g) ?? []).map(Number)]);
  steps.forEach((s, i) => {
    if (i !== slipped) checkStep(s);
    for (const x of [s.a, s.b]) assert.ok(known.has(x), `${x} in "${solution}" comes from nowhere`);
    known.add(s.result);
    if (s.remainder !== undefined) known.add(s.remainder);
  });
}

/**
 * Checks a record: each step's arithmetic, that each operand is a number of the question, an earlier
 * result or remainder, or a known constant, and that the answer (field, "####" line) is the last
 * step's result or remainder. Returns the steps.
 */
export function checkRecord(r: MathRecord): Parsed[] {
  const [user, assistant] = r.messages;
  assert.equal(user.role, "user");
  assert.equal(assistant.role, "assistant");
  const lines = assistant.content.split("\n");
  assert.equal(lines[lines.length - 1], `#### ${r.answer}`, "the last line is #### and the answer");
  assert.match(r.answer, /^\d+$/, "the answer is a plain non-negative integer");
  const steps = parseSteps(assistant.content);
  checkLines(user.content, steps, assistant.content);
  const last = steps[steps.length - 1]!;
  assert.ok(
    [last.result, last.remainder].includes(Number(r.answer)),
    `answer ${r.answer} is the last step's result or remainder`,
  );
  // The record's own numbers are in its question, so the question alone determines the answer.
  for (const [name, value] of Object.entries(r.numbers))
    assert.match(
      user.content,
      new RegExp(`(?<![\\d])${value}(?![\\d])`),
      `${name}=${value} is in the question`,
    );
  return steps;
}
