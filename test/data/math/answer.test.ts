import assert from "node:assert/strict";
import { test } from "node:test";
import { answerLine, extractAnswer, normaliseAnswer } from "../../../src/data/math/answer.js";

test("extractAnswer reads the number after #### as GSM8K writes it", () => {
  const gsm8k =
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72";
  assert.equal(extractAnswer(gsm8k), "72");
  assert.equal(extractAnswer("so the total is\n#### 1,234"), "1234");
  assert.equal(extractAnswer("#### 18."), "18");
  assert.equal(extractAnswer("#### -5"), "-5");
  assert.equal(extractAnswer("#### $40"), "40");
  assert.equal(extractAnswer("####42"), "42");
  assert.equal(extractAnswer("#### 3.50"), "3.5");
  // What follows the number on its line (an end token) is not part of it.
  assert.equal(extractAnswer("#### 43<|eos|>"), "43");
  assert.equal(extractAnswer("#### 43 apples"), "43");
  // The first mark counts, as lm-evaluation-harness's strict match takes the first: a model that
  // rambles on after its answer is judged by the answer it gave.
  assert.equal(extractAnswer("#### 12\nwait, no\n#### 13"), "12");
  assert.equal(extractAnswer(answerLine("43")), "43");
});

test("extractAnswer gives undefined without a mark or a number after it", () => {
  assert.equal(extractAnswer("The answer is 43."), undefined);
  assert.equal(extractAnswer("#### "), undefined);
  assert.equal(extractAnswer("#### forty-three"), undefined);
  assert.equal(extractAnswer(""), undefined);
});

test("normaliseAnswer makes spellings of one number equal", () => {
  assert.equal(normaliseAnswer(" 1,000 "), "1000");
  assert.equal(normaliseAnswer("007"), "7");
  assert.equal(normaliseAnswer("12.0"), "12");
  assert.equal(normaliseAnswer("-0"), "0");
  assert.equal(normaliseAnswer("0.25"), "0.25");
  assert.equal(normaliseAnswer("43."), "43");
  assert.equal(normaliseAnswer("12 apples"), undefined);
  assert.equal(normaliseAnswer(""), undefined);
});
