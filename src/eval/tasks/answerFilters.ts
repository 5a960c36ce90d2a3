// lm-evaluation-harness's post-processing of a generated answer, with its exact semantics, so that a
// score computed here is comparable with one it reports: the `regex` filter (GSM8K's strict-match and
// flexible-extract), the `exact_match` metric (Hugging Face evaluate's, which the harness calls) and
// the cut at the task's `until` stop sequences. Patterns are Python's, run through pythonRegex.ts.

import { pyCompile, pyFindall, pyRemove } from "./pythonRegex.js";
import { pyStrip } from "./pythonStr.js";

/** What the harness's RegexFilter answers when nothing matches. */
export const INVALID_ANSWER = "[invalid]";

/** GSM8K's `strict-match`: the number after "#### ", the first such. */
export const GSM8K_STRICT = { pattern: "#### (\\-?[0-9\\.\\,]+)", groupSelect: 0 } as const;
/** GSM8K's `flexible-extract`: the last number of two characters or more, or else of digits. */
export const GSM8K_FLEXIBLE = { pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)", groupSelect: -1 } as const;
/** GSM8K's `exact_match` options. */
export const GSM8K_EXACT_MATCH = {
  ignoreCase: true,
  ignorePunctuation: false,
  regexesToIgnore: [",", "\\$", "(?s).*#### ", "\\.$"],
} as const;

/**
 * The harness's `regex` filter: every match of `pattern` (Python's `re.findall`: the match, group 1,
 * or with several groups the first non-empty one), the `groupSelect`-th of them (negative counts from
 * the end), stripped; `fallback` when there is none. A `groupSelect` past the matches found, which
 * makes the harness raise an IndexError, also gives the fallback: the answer holds no such match.
 */
export function regexExtract(
  text: string,
  pattern: string,
  o: { groupSelect?: number; fallback?: string } = {},
): string {
  const { groupSelect = 0, fallback = INVALID_ANSWER } = o;
  const matches = pyFindall(pyCompile(pattern), text);
  if (matches.length === 0) return fallback;
  const selected = matches[groupSelect < 0 ? matches.length + groupSelect : groupSelect];
  if (selected === undefined) return fallback;
  if (typeof selected === "string") return pyStrip(selected);
  return pyStrip(selected.find((g) => g !== "") ?? fallback);
}

/** Python's `string.punctuation`: ASCII only, as the metric strips it. */
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

export interface ExactMatchOptions {
  ignoreCase?: boolean;
  ignorePunctuation?: boolean;
  /** Remove the ASCII digits from both sides (`ignore_numbers`). */
  ignoreNumbers?: boolean;
  /** Python patterns whose every match is removed from both sides first, in order. */
  regexesToIgnore?: readonly string[];
}

/**
 * The `exact_match` metric for one prediction: every match of each of `regexesToIgnore` removed from
 * both strings in turn, then both lower-cased, then stripped of punctuation, then of digits, each when
 * asked; 1 if the two are then equal, 0 if not.
 */
export function exactMatch(prediction: string, reference: string, o: ExactMatchOptions = {}): 0 | 1 {
  const normalise = (s: string) => {
    for (const pattern of o.regexesToIgnore ?? []) s = pyRemove(pyCompile(pattern), s);
    if (o.ignoreCase) s = s.toLowerCase();
    if (o.ignorePunctuation) s = s.replace(PUNCTUATION, "");
    if (o.ignoreNumbers) s = s.replace(/[0-9]/g, "");
    return s;
  };
  return normalise(prediction) === normalise(reference) ? 1 : 0;
}

/**
 * A generation cut at its stop sequences as the harness's Hugging Face backend does it: split at each
 * non-empty sequence of `until` in turn, keeping what comes before. That is the cut at the earliest
 * occurrence of any of them, except where a later sequence's earliest occurrence runs across the cut
 * an earlier one made ("abc" with ["c", "bc"] gives "ab").
 */
export function stopAt(text: string, until: readonly string[]): string {
  for (const stop of until) {
    if (stop === "") continue;
    const at = text.indexOf(stop);
    if (at >= 0) text = text.slice(0, at);
  }
  return text;
}
