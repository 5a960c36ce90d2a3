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

/**
 * A step written differently from how its plan computes it: a swapped operation, or a wrong result or
 * remainder. Later steps read these values, so the slip carries through.
 */
export interface StepOverride {
  readonly op: Op;
  readonly result: number;
  readonly remainder?: number;
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
 * steps it names (a slip), or the whole step as written (a number is a wrong result; a StepOverride
 * may also change the operation or the remainder), before later steps read it, so a mistake
 * propagates as it would on paper.
 */
export function runPlan(
  plan: readonly StepSpec[],
  givens: Readonly<Record<string, number>>,
  overrides?: ReadonlyMap<number, number | StepOverride>,
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
    const computed = applyOp(spec.op, a, b);
    const o = overrides?.get(i);
    const { op, result, remainder } =
      typeof o === "object" ? o : { op: spec.op, ...computed, result: o ?? computed.result };
    steps.push(remainder === undefined ? { op, a, b, result } : { op, a, b, result, remainder });
  });
  return steps;
}

/** Whether every value is a non-negative integer and divisions not meant to leave a remainder are exact. */
export function isWellFormed(plan: readonly StepSpec[], steps: readonly Step[]): boolean {
  return steps.every((s, i) => isWellFormedStep(plan[i]!, s));
}

/** isWellFormed for one step and the spec it was computed from. */
export function isWellFormedStep(spec: StepSpec, s: Step): boolean {
  if (!isCount(s.a) || !isCount(s.b) || !isCount(s.result)) return false;
  if (s.op === "/") {
    if (s.b === 0 || s.remainder === undefined || !isCount(s.remainder)) return false;
    // A remainder step with nothing left over would read "7 remainder 0": resampled instead.
    return spec.withRemainder ? s.remainder > 0 : s.remainder === 0;
  }
  return true;
}

/** A non-negative integer: what every value in a word problem's solution must be. */
export function isCount(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}

/** The equation of a step as written in a solution: "17 + 26 = 43", "47 / 6 = 7 remainder 5", "20% of 150 = 30". */
export function formatEquation(s: Step): string {
  if (s.op === "%") return `${s.a}% of ${s.b} = ${s.result}`;
  const rest = s.remainder ? ` remainder ${s.remainder}` : "";
  return `${s.a} ${s.op} ${s.b} = ${s.result}${rest}`;
}
