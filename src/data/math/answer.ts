// The answer convention of GSM8K, which deepen's math data follows so that one scorer reads both: a
// solution ends with a line "#### 43". Exact-match evaluation compares normalised answers.

/** What precedes the final answer on a solution's last line. */
export const ANSWER_MARK = "#### ";

/** The last line of a solution whose answer is `answer`. */
export function answerLine(answer: string): string {
  return `${ANSWER_MARK}${answer}`;
}

/**
 * An answer as written ("1,234", "$ 12.", "-7", "3.50") reduced to the form compared for exact match:
 * no thousands commas, currency sign or spaces, no trailing period, and no trailing zeros after a
 * decimal point (so "3.50" equals "3.5" and "12.0" equals "12"). Undefined when no number is left.
 */
export function normaliseAnswer(text: string): string | undefined {
  let s = text.trim().replace(/[,$\s]/g, "");
  s = s.replace(/\.$/, "");
  if (!/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  // "-0" and "007" are spellings of 0 and 7, not different answers.
  s = s.replace(/^(-?)0+(?=\d)/, "$1");
  return s === "-0" ? "0" : s;
}

/**
 * The answer of a GSM8K-style solution in its strict form: the number after the first "#### " mark (lm-evaluation-harness's strict match takes the first),
 * normalised (commas removed, a trailing period tolerated). Undefined when there is no mark or no
 * number after it, which a scorer counts as wrong rather than guessing from the prose.
 */
export function extractAnswer(text: string): string | undefined {
  const at = text.indexOf("####");
  if (at < 0) return undefined;
  // The number is the first token after the mark; anything after it on the line (an end-of-text
  // token, a stray word) is not part of the answer.
  const m = /^\s*(-?[$\d][\d,]*(?:\.\d+)?\.?)/.exec(text.slice(at + 4));
  return m ? normaliseAnswer(m[1]!) : undefined;
}
