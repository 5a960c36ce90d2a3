import { hashString } from "../../random.js";
import { answerLine } from "./answer.js";
import type { Draw } from "./draw.js";
import { drawPeople, type Person } from "./people.js";
import { formatEquation, isWellFormed, runPlan, type Step } from "./steps.js";
import type { Template, View } from "./template.js";

/** One problem: a template and its numbers (which decide the answer), and who it is about (which does not). */
export interface Problem {
  readonly template: Template;
  readonly givens: Readonly<Record<string, number>>;
  readonly steps: readonly Step[];
  readonly answer: number;
  /** Template and numbers: two problems with the same key are the same problem, however worded. */
  readonly key: string;
  readonly who: Person;
  readonly friend: Person;
  /** Seeds the per-problem word choices (View.pick), so every wording of the problem uses the same words. */
  readonly wordSeed: number;
}

// Above this a value stops looking like an everyday word problem; templates keep well below it.
export const MAX_VALUE = 1_000_000;
// Tries before a template is declared unable to produce a well-formed problem: a bug in its sampler.
const MAX_TRIES = 1000;

export function canonicalKey(template: Template, givens: Readonly<Record<string, number>>): string {
  const numbers = Object.keys(givens)
    .sort()
    .map((k) => `${k}=${givens[k]}`);
  return `${template.name}|${numbers.join(",")}`;
}

/** The answer the steps lead to: the last step's result, or its remainder for a "how many are left" template. */
export function answerOf(template: Template, steps: readonly Step[]): number {
  const last = steps[steps.length - 1]!;
  return template.answer === "remainder" ? (last.remainder ?? 0) : last.result;
}

/** Draws numbers for `template` until every step is a non-negative integer (and exact where it must be). */
export function drawProblem(template: Template, d: Draw): Problem {
  for (let i = 0; i < MAX_TRIES; i++) {
    const givens = template.sample(d);
    const steps = runPlan(template.steps, givens);
    const inRange = steps.every((s) => s.result <= MAX_VALUE);
    if (!inRange || !isWellFormed(template.steps, steps)) continue;
    const [who, friend] = drawPeople(d);
    return {
      template,
      givens,
      steps,
      answer: answerOf(template, steps),
      key: canonicalKey(template, givens),
      who,
      friend,
      wordSeed: d.int(0, 2 ** 31),
    };
  }
  throw new Error(`template ${template.name} drew no well-formed problem in ${MAX_TRIES} tries`);
}

function viewOf(p: Problem, steps: readonly Step[]): View {
  const at = (i: number) => {
    const s = steps[i];
    if (s === undefined) throw new Error(`template ${p.template.name} reads step ${i} of ${steps.length}`);
    return s;
  };
  return {
    n: p.givens,
    s: (i) => at(i).result,
    r: (i) => at(i).remainder ?? 0,
    who: p.who,
    friend: p.friend,
    pick: (slot, words) => words[hashString(`${p.wordSeed}:${slot}`) % words.length]!,
  };
}

/**
 * How many wordings a template has: each written wording with its context first, and again with its
 * question first ("How much does Ava pay? She buys …"), the reordering the Math-Instruct rephrasings use.
 */
export function wordingCount(template: Template): number {
  return 2 * template.wordings.length;
}

/** The question in wording `w` (0 ≤ w < wordingCount). */
export function questionText(p: Problem, w: number): string {
  const written = p.template.wordings.length;
  const [context, question] = p.template.wordings[w % written]!(viewOf(p, p.steps));
  return w < written ? `${context} ${question}` : `${question} ${context}`;
}

/**
 * The worked solution: one sentence per step around its equation, then "#### answer". Given other
 * steps (a slip carried through by runPlan's overrides), it writes those, and their answer.
 */
export function solutionText(p: Problem, steps: readonly Step[] = p.steps): string {
  const v = viewOf(p, steps);
  const lines = p.template.steps.map((spec, i) => spec.say(formatEquation(steps[i]!), v));
  lines.push(answerLine(String(answerOf(p.template, steps))));
  return lines.join("\n");
}
