import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../src/errors.js";
import { pyCompile, pyFindall, pyRemove } from "../../../src/eval/tasks/pythonRegex.js";
import { pyCapitalize, pyStrip } from "../../../src/eval/tasks/pythonStr.js";

// [pattern, text, re.findall(pattern, text), re.sub(pattern, "", text)], the last two printed by
// Python 3.11. Most rows are where a JavaScript RegExp of the same text answers otherwise.
const PYTHON: [string, string, (string | string[])[], string][] = [
  // $ also matches before a final newline
  ["\\.$", "18.\n", ["."], "18\n"],
  // . stops only at \n, not at \r
  [".+", "a\rb\nc", ["a\rb", "c"], "\n"],
  // after an empty match a non-empty one may start at the same place
  ["\\b|\\w+", "foo bar", ["", "foo", "", "", "bar", ""], " "],
  ["x*", "axxb", ["", "xx", "", ""], "ab"],
  // \w, \d, \s and \b are Unicode's; \s is str.isspace()'s
  ["\\w+", "café ٣٤_x", ["café", "٣٤_x"], " "],
  ["\\d+", "٣٤ 12", ["٣٤", "12"], " "],
  ["\\s+", "a \x1cb\x85c\ufeffd", [" \x1c", "\x85"], "abc\ufeffd"],
  ["\\bfoo\\b", "foo éfoo foo_ foo.", ["foo", "foo"], " éfoo foo_ ."],
  ["[^\\s]+", "a\u2028b c", ["a", "b", "c"], "\u2028 "],
  ["[\\W\\d]+", "a1-b", ["1-"], "ab"],
  // group rules of findall: one group gives strings, several give tuples ("" where unmatched)
  ["#### (\\-?[0-9\\.\\,]+)", "#### 1,234\n#### -5", ["1,234", "-5"], "\n"],
  [
    "(a)|(b)|()",
    "ab",
    [
      ["a", "", ""],
      ["", "b", ""],
      ["", "", ""],
    ],
    "",
  ],
  // Python's syntax: {,n}, a literal {}, ] first in a set, named groups, \, and \- escapes, octal
  ["a{,2}", "aaa", ["aa", "a", ""], ""],
  ["a{}", "a{}", ["a{}"], ""],
  ["[]a]+", "]a]b", ["]a]"], "b"],
  ["(?P<n>a)(?P=n)", "aab aa", ["a", "a"], "b "],
  ["\\$\\,\\-", "$,-", ["$,-"], ""],
  ["\\x41\\u00e9\\101", "AéA", ["AéA"], ""],
  // inline flags: (?m) lines end only at \n, (?s) dot matches \n
  ["(?m)^\\w+$", "ab\ncd\r\nef", ["ab", "ef"], "\ncd\r\n"],
  ["(?s).*#### ", "a\nb #### 18", ["a\nb #### "], "18"],
];

test("Python patterns find and remove what Python's re finds and removes", () => {
  for (const [pattern, text, findall, sub] of PYTHON) {
    const re = pyCompile(pattern);
    assert.deepEqual(pyFindall(re, text), findall, `findall ${pattern} in ${JSON.stringify(text)}`);
    assert.equal(pyRemove(re, text), sub, `sub ${pattern} in ${JSON.stringify(text)}`);
  }
});

test("patterns with no exact JavaScript meaning are refused by name, on one line", () => {
  for (const [pattern, why] of [
    ["(?x) a b", /inline flag \(\?x\)/],
    ["(?i:x)y", /only at the start/],
    ["a(?i)b", /only at the start/],
    ["a*+", /possessive/],
    ["(?>a)", /no JavaScript equivalent/],
    ["\\N{DIGIT ONE}", /named characters/],
    ["\\q", /bad escape \\q/],
    ["[a", /not closed/],
    ["[z-a]", /bad character range/],
    ["(a)\\2", /Invalid/],
  ] as const) {
    assert.throws(
      () => pyCompile(pattern),
      (e: Error) =>
        e instanceof UsageError && why.test(e.message) && e.message.includes(JSON.stringify(pattern)),
      pattern,
    );
  }
});

test("strip removes Python's whitespace; capitalize lowers the rest as Python does", () => {
  assert.equal(pyStrip("\x1c\x85 \t a b \n\u3000"), "a b");
  assert.equal(pyStrip("\ufeffa"), "\ufeffa"); // not whitespace to Python
  assert.equal(pyCapitalize("tHEN Water it"), "Then water it");
  assert.equal(pyCapitalize("ßa"), "Ssa");
  assert.equal(pyCapitalize("ΑΣ ΟΔΟΣ"), "Ας οδος");
  assert.equal(pyCapitalize(""), "");
  assert.equal(pyCapitalize("😀A"), "😀a");
});
