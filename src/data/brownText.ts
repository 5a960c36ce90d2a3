// The Brown corpus (Francis & Kučera, 1961 texts, form C: part-of-speech tagged) as plain text: each
// `word/tag` token loses its tag and the words are rejoined as printed English (no space before
// closing punctuation, quotes attached to what they quote). Tags never reach the model.

/** Bumped whenever the rendering changes, so cached tokens of the old text are not reused. */
export const BROWN_READER = "brown-tagged@1";

// Words that attach to the word before them, and words the next word attaches to.
const CLOSING = new Set([",", ".", ";", ":", "?", "!", ")", "]", "''"]);
const OPENING = new Set(["(", "[", "``"]);
const RENDER: Record<string, string> = { "``": '"', "''": '"' };

/** The word of a `word/tag` token: everything before the last slash (words like 1-1/2 keep theirs). */
function wordOf(token: string): string {
  const slash = token.lastIndexOf("/");
  return slash > 0 ? token.slice(0, slash) : token;
}

/** Appends one tagged sentence (a line of the file) to `out`; `glue` says whether the text so far
 * ends in an opening mark. Returns the new text and whether the next word attaches to it. */
function appendSentence(out: string, glue: boolean, line: string): [string, boolean] {
  let singleOpen = false; // Brown marks both ends of a single-quoted phrase with the same '
  for (const token of line.trim().split(/\s+/)) {
    if (token === "") continue;
    const word = wordOf(token);
    let glueBefore = CLOSING.has(word);
    let glueAfter = OPENING.has(word);
    if (word === "'") {
      singleOpen = !singleOpen;
      glueBefore = !singleOpen;
      glueAfter = singleOpen;
    }
    if (out !== "" && !glue && !glueBefore) out += " ";
    out += RENDER[word] ?? word;
    glue = glueAfter;
  }
  return [out, glue];
}

/** One tagged sentence as text. */
export function untagSentence(line: string): string {
  return appendSentence("", false, line)[0];
}

/**
 * A whole tagged file (one sentence per line, blank lines between) as one document of text. A line
 * that is only closing punctuation (the corpus splits some that way) attaches to the sentence before.
 */
export function untagBrown(raw: string): string {
  let out = "";
  let glue = false;
  for (const line of raw.split("\n")) if (line.trim() !== "") [out, glue] = appendSentence(out, glue, line);
  return out;
}
