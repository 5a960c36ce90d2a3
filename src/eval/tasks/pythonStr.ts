// The few Python string methods lm-evaluation-harness's task code applies to documents and answers,
// with Python's meaning where JavaScript's look-alike differs: a score is only comparable with the
// harness's if the text scored is the same, character for character.

/**
 * Python's `str.isspace()` characters, which `str.strip()` removes and `\s` matches. JavaScript's
 * `trim()` differs: it keeps U+001C–U+001F and U+0085 and removes U+FEFF.
 */
export const PYTHON_WHITESPACE =
  "\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const edges = new RegExp(`^[${PYTHON_WHITESPACE}]+|[${PYTHON_WHITESPACE}]+$`, "g");

const trailing = new RegExp(`[${PYTHON_WHITESPACE}]+$`);

/** Python's `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(trailing, "");
}

/** Python's `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(edges, "");
}

/**
 * Python's `s.capitalize()`: the first character upper-cased, every other one LOWER-cased (so
 * "Then He" becomes "Then he"). Python title-cases the first character: where that is several
 * characters upper-cased ("ß" → "SS", "ﬁ" → "FI") its title case keeps only the first one capital
 * ("Ss", "Fi"), done here. What still differs is what JavaScript has no title case for: the Latin
 * digraphs (U+01C4–U+01CC, U+01F1–U+01F3), Georgian letters and Greek letters with iota subscript,
 * none of which the English benchmarks hold. The rest is lowered as one string, so that a final
 * sigma becomes "ς" as in Python's `lower()`.
 */
export function pyCapitalize(s: string): string {
  const first = s.codePointAt(0);
  if (first === undefined) return s;
  const head = String.fromCodePoint(first);
  const [upper, ...more] = [...head.toUpperCase()];
  const rest = s.toLowerCase().slice(head.toLowerCase().length);
  return upper! + more.join("").toLowerCase() + rest;
}
