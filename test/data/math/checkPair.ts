// An independent check of a preference pair, in the spirit of checkRecord: it reads the pair's text and
// its record, never the slip code, and redoes the arithmetic of the rejected solution line by line.
import assert from "node:assert/strict";
import type { PreferencePair } from "../../../src/data/math/pair.js";
import type { MathRecord } from "../../../src/data/math/record.js";
import { checkLines, checkStep, parseSteps, type Parsed } from "./checkRecord.js";

/**
 * Column arithmetic written without carrying, done on digit strings: every column keeps its last
 * digit except the leftmost, written whole; a subtraction column that would borrow takes 10 and never
 * pays it back. Multiplication by one digit only.
 */
export function noCarry(op: string, a: number, b: number): number {
  let top: string;
  let low: string;
  let digit = (x: number, y: number) => x + y;
  if (op === "*") {
    const one = a < 10 ? a : b;
    top = String(a < 10 ? b : a);
    low = "0".repeat(top.length);
    digit = (x) => x * one;
  } else {
    const w = Math.max(String(a).length, String(b).length);
    top = String(a).padStart(w, "0");
    low = String(b).padStart(w, "0");
    if (op === "-") digit = (x, y) => (x + 10 - y) % 10;
  }
  let out = "";
  for (let i = 0; i < top.length; i++) {
    const v = digit(Number(top[i]), Number(low[i]));
    out += i === 0 ? String(v) : String(v % 10);
  }
  return Number(out);
}

// Operations a swapped step may show instead of the right one.
const SWAPS = new Set(["+-", "-+", "*/", "/*", "*+"]);

function checkSlip(kind: string, right: Parsed, wrong: Parsed): void {
  const where = `${kind}: ${right.a} ${right.op} ${right.b} = ${right.result} written as ${wrong.a} ${wrong.op} ${wrong.b} = ${wrong.result}`;
  assert.deepEqual([wrong.a, wrong.b], [right.a, right.b], `${where}: same operands`);
  if (kind === "swapped_operation") {
    assert.ok(SWAPS.has(right.op + wrong.op), where);
    // The swapped line is right for the operation it shows, an exact division if a division.
    checkStep(wrong);
    assert.equal(wrong.remainder, undefined, where);
    return;
  }
  assert.equal(wrong.op, right.op, where);
  assert.throws(() => checkStep(wrong), `${where}: the slipped line is wrong`);
  if (kind === "dropped_carry") {
    assert.equal(wrong.result, noCarry(right.op, right.a, right.b), where);
    assert.notEqual(wrong.result, right.result, where);
  } else {
    assert.equal(kind, "off_by_one");
    const dq = Math.abs(wrong.result - right.result);
    const dr = Math.abs((wrong.remainder ?? 0) - (right.remainder ?? 0));
    assert.equal(dq + dr, 1, `${where}: the result or the remainder off by exactly one`);
  }
}

/**
 * Checks a pair against the record it was made from: prompt and chosen are the record's; the rejected
 * solution shares the lines before slip_step, has the slip its `slip` names there, computes every
 * other line right from the values before it, and ends at rejected_answer, which is not the answer.
 */
export function checkPair(pair: PreferencePair, record: MathRecord): void {
  assert.deepEqual(pair.prompt, [record.messages[0]]);
  assert.deepEqual(pair.chosen, [record.messages[1]]);
  for (const k of ["id", "problem_id", "template", "level", "answer"] as const)
    assert.equal(pair[k], record[k], k);
  assert.equal(pair.rejected.length, 1);
  assert.equal(pair.rejected[0].role, "assistant");
  const text = pair.rejected[0].content;
  const lines = text.split("\n");
  assert.equal(lines[lines.length - 1], `#### ${pair.rejected_answer}`, text);
  assert.match(pair.rejected_answer, /^\d+$/, "a non-negative integer");
  assert.notEqual(pair.rejected_answer, pair.answer, text);

  const right = parseSteps(record.messages[1].content);
  const wrong = parseSteps(text);
  const k = pair.slip_step;
  assert.equal(wrong.length, right.length);
  assert.ok(Number.isInteger(k) && k >= 0 && k < right.length, `slip_step ${k}`);
  assert.deepEqual(
    lines.slice(0, k),
    record.messages[1].content.split("\n").slice(0, k),
    "same lines before the slip",
  );
  checkLines(record.messages[0].content, wrong, text, k);
  checkSlip(pair.slip, right[k]!, wrong[k]!);
  const last = wrong[wrong.length - 1]!;
  assert.ok(
    [last.result, last.remainder ?? 0].includes(Number(pair.rejected_answer)),
    `${text}: rejected_answer is where the slipped steps lead`,
  );
}
