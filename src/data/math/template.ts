import type { Draw } from "./draw.js";
import type { Person } from "./people.js";
import type { Ref, StepSpec } from "./steps.js";

export type Level = 1 | 2 | 3 | 4;
export const LEVELS: readonly Level[] = [1, 2, 3, 4];

export const given = <K extends string>(name: K): Ref<K> => ({ given: name });
export const step = (index: number): Ref<never> => ({ step: index });
export const remainder = (index: number): Ref<never> => ({ remainder: index });
export const constant = (value: number): Ref<never> => ({ value });

/** What a sentence of a problem may say: its numbers, the steps' values, its people and words. */
export interface View<K extends string = string> {
  readonly n: Readonly<Record<K, number>>;
  /** The result of step i as computed (after any slip, so later sentences carry it). */
  s(i: number): number;
  /** The remainder of division step i. */
  r(i: number): number;
  readonly who: Person;
  readonly friend: Person;
  /** A word chosen once per problem for `slot` ("fruit"), the same in every wording of it. */
  pick(slot: string, words: readonly string[]): string;
}

export interface SpokenStep<K extends string = string> extends StepSpec<K> {
  /** The step's line of the solution: a sentence around its equation. */
  say(eq: string, v: View<K>): string;
}

/** One way to word a problem: its context (the story) and its question, kept apart so either can come first. */
export type Wording<K extends string = string> = (v: View<K>) => readonly [context: string, question: string];

export interface Template<K extends string = string> {
  /** Unique across levels: "topic.what" (shopping.change). Part of each problem's canonical key. */
  readonly name: string;
  readonly level: Level;
  /** Draws the problem's numbers; the generator resamples until every step is well formed. */
  sample(d: Draw): Record<K, number>;
  readonly steps: readonly SpokenStep<K>[];
  /** The answer is the last step's remainder (things left over) instead of its result. */
  readonly answer?: "remainder";
  /** At least MIN_WORDINGS, each a different sentence structure or vocabulary, not only different names. */
  readonly wordings: readonly Wording<K>[];
}

/** Every template has at least this many wordings, so --rephrase up to twice this always finds distinct ones. */
export const MIN_WORDINGS = 3;

/**
 * A template typed by its number names (a misspelt name in a step or sentence fails to compile),
 * returned as the plain Template the generator handles: the names are only a compile-time check.
 */
export function defineTemplate<K extends string>(t: Template<K>): Template {
  return t as unknown as Template;
}
