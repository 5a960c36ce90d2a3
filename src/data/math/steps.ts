// A solution is a plan of steps, each an operation on two operands that name where their values come
// from (a number of the problem, an earlier step's result or remainder, a constant). Keeping the plan
// symbolic is what lets a later "slip" (a wrong value at one step, for DPO's rejected answers) carry
// through: `runPlan` with an override recomputes every later step from the wrong value.

/** + - * /, and % for "a% of b". Division is integer division; its remainder is kept on the step. */
export type Op = "+" | "-" | "*" | "/" | "%";

/** An operand named by where its value comes from; K is the template's number names, checked at compile time. */
export type Ref<K extends string = string> =
  | { readonly given: K }
  | { readonly step: number }
  | { readonly remainder: number }
  | { readonly value: number };

/** One computed step: `a op b = result`, with the remainder of a division. */
export interface Step {
  readonly op: Op;
  readonly a: number;
  readonly b: number;
  readonly result: number;
  /** Only for "/" steps: what is left after `result` whole parts (0 when it divides exactly). */
  readonly remainder?: number;
}

export interface StepSpec<K extends string = string> {
  readonly op: Op;
  readonly a: Ref<K>;
  readonly b: Ref<K>;
  /** A division whose remainder is part of the story (eggs left over); other divisions must be exact. */
  readonly withRemainder?: boolean;
}

export function applyOp(op: Op, a: number, b: number): { result: number; remainder?: number } {
  switch (op) {
    case "+":
      return { result: a + b };
    case "-":
      return { result: a - b };
    case "*":
      return { result: a * b };
    case "/": {
      const result = Math.floor(a / b);
      return { result, remainder: a - result * b };
    }
    case "%":
      return { result: (a * b) / 100 };
  }
}

/**
 * Computes the steps of `plan` from the problem's numbers. `overrides` replaces the result of the
 * steps it names (a slip) before later steps read it, so a mistake propagates as it would on paper.
 */
export function runPlan(
  plan: readonly StepSpec[],
  givens: Readonly<Record<string, number>>,
  overrides?: ReadonlyMap<number, number>,
): Step[] {
  const steps: Step[] = [];
  const read = (ref: Ref): number => {
    if ("given" in ref) {
      const v = givens[ref.given];
      if (v === undefined) throw new Error(`plan reads ${ref.given}, which the problem does not have`);
      return v;
    }
    if ("value" in ref) return ref.value;
    const i = "step" in ref ? ref.step : ref.remainder;
    const s = steps[i];
    if (s === undefined) throw new Error(`plan step ${steps.length} reads step ${i}, which comes later`);
    return "step" in ref ? s.result : (s.remainder ?? 0);
  };
  plan.forEach((spec, i) => {
    const a = read(spec.a);
    const b = read(spec.b);
    const { result, remainder } = applyOp(spec.op, a, b);
    const r = overrides?.get(i) ?? result;
    steps.push(
      remainder === undefined
        ? { op: spec.op, a, b, result: r }
        : { op: spec.op, a, b, result: r, remainder },
    );
  });
  return steps;
}

/** Whether every value is a non-negative integer and divisions not meant to leave a remainder are exact. */
export function isWellFormed(plan: readonly StepSpec[], steps: readonly Step[]): boolean {
  return steps.every((s, i) => {
    const spec = plan[i]!;
    const ok = (x: number) => Number.isSafeInteger(x) && x >= 0;
    if (!ok(s.a) || !ok(s.b) || !ok(s.result)) return false;
    if (s.op === "/") {
      if (s.b === 0 || s.remainder === undefined || !ok(s.remainder)) return false;
      // A remainder step with nothing left over would read "7 remainder 0": resampled instead.
      return spec.withRemainder ? s.remainder > 0 : s.remainder === 0;
    }
    return true;
  });
}

/** The equation of a step as written in a solution: "17 + 26 = 43", "47 / 6 = 7 remainder 5", "20% of 150 = 30". */
export function formatEquation(s: Step): string {
  if (s.op === "%") return `${s.a}% of ${s.b} = ${s.result}`;
  const rest = s.remainder ? ` remainder ${s.remainder}` : "";
  return `${s.a} ${s.op} ${s.b} = ${s.result}${rest}`;
}
