import assert from "node:assert/strict";
import { test } from "node:test";
import { untagBrown, untagSentence } from "../../src/data/brownText.js";
import { readDocuments } from "../../src/data/corpus.js";
import { BROWN_HELDOUT_EVERY, BROWN_PREFIX, embeddedFiles } from "../../src/data/embeddedCorpus.js";

test("tags are stripped and words rejoined as printed: punctuation, double and single quotes, fractions", () => {
  assert.equal(
    untagSentence(
      "\t``/`` Only/rb a/at relative/jj handful/nn of/in such/jj reports/nns was/bedz received/vbn ''/'' ,/, the/at jury/nn said/vbd ./.",
    ),
    '"Only a relative handful of such reports was received", the jury said.',
  );
  assert.equal(
    untagSentence("more/ap '/' pro/jj '/' letters/nns than/in '/' con/jj '/' on/in betting/nn ./."),
    "more 'pro' letters than 'con' on betting.",
  );
  assert.equal(
    untagSentence(
      "a/at 1-1/2-story/nn house/nn (/( built/vbn in/in 1958/cd )/) ;/. didn't/dod* help/vb --/-- none/pn ?/.",
    ),
    "a 1-1/2-story house (built in 1958); didn't help -- none?",
  );
  // Sentences, one per line with blank lines between, join into one document.
  assert.equal(
    untagBrown("\n\n\tThe/at jury/nn said/vbd ./.\n\n\n\tIt/pps did/dod ./.\n"),
    "The jury said. It did.",
  );
});

test("brown:SPLIT holds every sample once, samples numbered 10, 20, 30, 40 held out, read without tags", async () => {
  const train = embeddedFiles("train", BROWN_PREFIX);
  const heldout = embeddedFiles("heldout", BROWN_PREFIX);
  assert.equal(train.length + heldout.length, 500);
  assert.ok(heldout.every((f) => Number(f.name.slice(-2)) % BROWN_HELDOUT_EVERY === 0));
  assert.ok(train.every((f) => Number(f.name.slice(-2)) % BROWN_HELDOUT_EVERY !== 0));
  assert.equal(heldout.length, 41);
  assert.deepEqual(
    embeddedFiles("heldout", BROWN_PREFIX).map((f) => f.name),
    heldout.map((f) => f.name),
    "the same order every time",
  );
  const docs: string[] = [];
  for await (const d of readDocuments([`${BROWN_PREFIX}heldout`])) docs.push(d.text);
  assert.equal(docs.length, 41);
  for (const text of docs) {
    assert.doesNotMatch(text, /\S\/(at|nn|in|vbd|jj|np|\.|,|``|'')(\s|$)/, "a tag left in the text");
    assert.doesNotMatch(text, / [,.;:?!]/, "space before punctuation");
    assert.ok(!text.includes("``") && !text.includes("''"), "Brown's quote marks rendered as \"");
  }
  assert.ok(docs.join(" ").length > 400_000, "about 0.5 MB held out");
});
