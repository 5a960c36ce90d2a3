import assert from "node:assert/strict";
import { test } from "node:test";
import {
  exactMatch,
  GSM8K_EXACT_MATCH,
  GSM8K_FLEXIBLE,
  GSM8K_STRICT,
  regexExtract,
  stopAt,
} from "../../../src/eval/tasks/answerFilters.js";

const JANET =
  "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n" +
  "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18";

// [generation, gold, strict-match, flexible-extract, exact match of each]: the expected values are
// what lm-evaluation-harness's RegexFilter and exact_match (run in Python) gave for these rows.
const GSM8K: [string, string, string, string, 0 | 1, 0 | 1][] = [
  [JANET, JANET, "18", "18", 1, 1],
  ["He pays 1,000 + 234 = 1,234 dollars.\n#### 1,234", "#### 1,234", "1,234", "1,234", 1, 1],
  ["He pays 1,000 + 234 = 1,234 dollars.\n#### 1234", "#### 1,234", "1234", "1234", 1, 1],
  ["She makes 9 * 2 = $18 every day.", "#### 18", "[invalid]", "$18", 0, 1],
  ["She makes $18.\n#### $18", "#### 18", "[invalid]", "$18", 0, 1],
  ["The temperature ends at 3 - 8 = -5 degrees.\n#### -5", "#### -5", "-5", "-5", 1, 1],
  ["Each costs 7 / 2 = 3.50 dollars.\n#### 3.50", "#### 3.5", "3.50", "3.50", 0, 0],
  ["Each costs 7 / 2 = 3.5 dollars.\n#### 3.5", "#### 3.5", "3.5", "3.5", 1, 1],
  ["So she has 18 left.\n#### 18.", "#### 18", "18.", "18.", 1, 1],
  ["I cannot work this out.", "#### 18", "[invalid]", "[invalid]", 0, 0],
  ["#### 5\nWait, that is wrong.\n#### 7", "#### 7", "5", "7", 0, 1],
  ["So the answer is 42 apples", "#### 42", "[invalid]", "42", 0, 1],
  ["2 + 3 = 5.", "#### 5", "[invalid]", "5.", 0, 1],
  ["There are 1, 2, 3", "#### 3", "[invalid]", "3", 0, 1],
  ["####18", "#### 18", "[invalid]", "18", 0, 1],
  ["#### 18\n\nQuestion: next", "#### 18", "18", "18", 1, 1],
];

test("GSM8K's strict and flexible extraction and exact match give the harness's answers", () => {
  for (const [generation, gold, strict, flexible, strictScore, flexibleScore] of GSM8K) {
    const s = regexExtract(generation, GSM8K_STRICT.pattern, { groupSelect: GSM8K_STRICT.groupSelect });
    const f = regexExtract(generation, GSM8K_FLEXIBLE.pattern, { groupSelect: GSM8K_FLEXIBLE.groupSelect });
    const row = JSON.stringify(generation);
    assert.equal(s, strict, `strict ${row}`);
    assert.equal(f, flexible, `flexible ${row}`);
    assert.equal(exactMatch(s, gold, GSM8K_EXACT_MATCH), strictScore, `strict score ${row}`);
    assert.equal(exactMatch(f, gold, GSM8K_EXACT_MATCH), flexibleScore, `flexible score ${row}`);
  }
});

test("regexExtract: group_select from either end, the fallback, stripping", () => {
  assert.equal(regexExtract("a1 b2 c3", "[a-z](\\d)", { groupSelect: 1 }), "2");
  assert.equal(regexExtract("a1 b2 c3", "[a-z](\\d)", { groupSelect: -3 }), "1");
  // Past the matches (the harness raises IndexError): the answer holds no such match.
  assert.equal(regexExtract("a1", "[a-z](\\d)", { groupSelect: 1 }), "[invalid]");
  assert.equal(regexExtract("none", "\\d", { fallback: "?" }), "?");
  // A match whose groups are all empty gives the fallback, stripped as the harness strips it.
  assert.equal(regexExtract("x", "(a)?(b)?x", { fallback: " none " }), "none");
  assert.equal(regexExtract("The answer is  7 \n", "answer is(.*)"), "7");
});

test("exactMatch: regexes in order, then case, punctuation and digits", () => {
  // Python's "\.$" also removes a period before a final newline.
  assert.equal(exactMatch("18.\n", "18\n", { regexesToIgnore: ["\\.$"] }), 1);
  assert.equal(exactMatch("Paris", "paris"), 0);
  assert.equal(exactMatch("Paris", "paris", { ignoreCase: true }), 1);
  assert.equal(exactMatch("it's Paris!", "its Paris", { ignorePunctuation: true }), 1);
  // string.punctuation is ASCII: a curly apostrophe stays.
  assert.equal(exactMatch("it’s", "its", { ignorePunctuation: true }), 0);
  assert.equal(exactMatch("room 101", "room ", { ignoreNumbers: true }), 1);
  // Order: the regex sees the text before lower-casing.
  assert.equal(exactMatch("ANSWER: b", "b", { regexesToIgnore: ["answer: "], ignoreCase: true }), 0);
  assert.equal(exactMatch("ANSWER: b", "b", { regexesToIgnore: ["(?i)answer: "], ignoreCase: true }), 1);
});

test("stopAt cuts at each stop sequence in turn, as the harness does", () => {
  const until = ["Question:", "</s>", "<|im_end|>"];
  assert.equal(stopAt("#### 18\n\nQuestion: Tom has", until), "#### 18\n\n");
  assert.equal(stopAt("#### 18</s>Question:", until), "#### 18");
  assert.equal(stopAt("#### 18", until), "#### 18");
  assert.equal(stopAt("a:b", ["", ":"]), "a"); // an empty stop sequence is ignored
  // Not always the earliest occurrence: "bc" runs across the cut "c" made.
  assert.equal(stopAt("abc", ["c", "bc"]), "ab");
  assert.equal(stopAt("abc", ["bc", "c"]), "a");
});
