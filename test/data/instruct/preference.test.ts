import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  detectPreferenceFormat,
  parsePreferenceFormat,
  type PreferenceFormat,
} from "../../../src/data/instruct/preference.js";
import { tempDir } from "../../helpers.js";
import { pairOf, PREFERENCE_SAMPLES, readPairs } from "./preferenceSamples.js";
import { bot, sys, user, usageError, writeJsonl, writeText } from "./samples.js";

const root = tempDir("deepen-preference-");
let count = 0;
const fresh = () => join(root, `d${count++}`);

for (const [name, sample] of Object.entries(PREFERENCE_SAMPLES)) {
  test(`JSONL in the ${name} shape reads as the expected pairs, its shape detected`, async () => {
    const path = writeJsonl(fresh(), `${name}.jsonl`, sample.records);
    const told: [string, PreferenceFormat][] = [];
    const got = await readPairs([path], { onFile: (p, f) => told.push([p, f]) });
    assert.deepEqual(got.map(pairOf), sample.expected);
    assert.deepEqual(told, [[path, sample.format]]);
    assert.deepEqual(
      got.map((p) => p.where),
      sample.records.map((_, i) => `${path}:${i + 1}`),
    );
    assert.deepEqual(
      got.map((p) => p.record),
      sample.records,
    );
  });
}

test("detection looks at values: chosen as a list beside a prompt string is a conversations pair", () => {
  const conv = [user("q"), bot("a")];
  assert.equal(detectPreferenceFormat({ prompt: "q", chosen: conv, rejected: conv }), "conversations-pair");
  assert.equal(detectPreferenceFormat({ chosen: conv, rejected: conv }), "conversations-pair");
  assert.equal(
    detectPreferenceFormat({ prompt: [user("q")], chosen: [bot("a")], rejected: [] }),
    "preference",
  );
  assert.equal(detectPreferenceFormat({ prompt: "q", chosen: "a", rejected: "b" }), "preference");
  assert.equal(detectPreferenceFormat({ question: "q", chosen: "a", rejected: "b" }), "orca-pairs");
  assert.equal(detectPreferenceFormat({ prompt: "q", chosen: "a" }), undefined);
  assert.equal(detectPreferenceFormat({ messages: conv }), undefined);
});

test("parsePreferenceFormat takes the shape names and refuses others in one line", () => {
  assert.equal(parsePreferenceFormat("orca-pairs"), "orca-pairs");
  assert.throws(
    () => parsePreferenceFormat("dpo"),
    /--format: "dpo" is not a preference record shape; use one of preference, conversations-pair, orca-pairs/,
  );
});

test("a named format overrides detection, and its missing fields name the record", async () => {
  const dir = fresh();
  const both = writeJsonl(dir, "both.jsonl", [
    { prompt: "p", system: "S", question: "q", chosen: "yes", rejected: "no" },
  ]);
  assert.deepEqual((await readPairs([both])).map(pairOf), [
    { prompt: [user("p")], chosen: [bot("yes")], rejected: [bot("no")] },
  ]);
  assert.deepEqual((await readPairs([both], { format: "orca-pairs" })).map(pairOf), [
    { prompt: [sys("S"), user("q")], chosen: [bot("yes")], rejected: [bot("no")] },
  ]);
  const strings = writeJsonl(dir, "s.jsonl", PREFERENCE_SAMPLES.strings!.records);
  await usageError(
    readPairs([strings], { format: "orca-pairs" }),
    /s\.jsonl:1: no "question" field \(needed by the orca-pairs shape\)/,
  );
});

test("a record of no preference shape names its fields and the accepted shapes", async () => {
  const path = writeJsonl(fresh(), "sft.jsonl", [{ messages: [user("q"), bot("a")] }]);
  await usageError(
    readPairs([path]),
    /sft\.jsonl:1: cannot tell the record shape from its fields \(messages\); accepted: preference \(prompt\+chosen\+rejected\), conversations-pair \(chosen\+rejected\), orca-pairs/,
  );
});

/** Records each bad in one way, after a good one, and the reason each must be refused with. */
const BAD: [Record<string, unknown>, RegExp][] = [
  [{ prompt: "q", chosen: "a" }, /no "rejected" field \(needed by the preference shape\)/],
  [
    { prompt: "q", chosen: 3, rejected: "b" },
    /the "chosen" field is a number, not a string or a list of messages/,
  ],
  [
    { prompt: [{ role: "tool", content: "x" }], chosen: "a", rejected: "b" },
    /prompt\[0\]: unknown role "tool"/,
  ],
  [{ prompt: "q", chosen: "a", rejected: "" }, /the rejected response is empty/],
  [{ prompt: "q", chosen: "  \n", rejected: "b" }, /the chosen response is empty/],
  [{ prompt: [sys("only a system prompt")], chosen: "a", rejected: "b" }, /the prompt has no user message/],
  [
    { prompt: [user("q"), bot("a")], chosen: "a", rejected: "b" },
    /the prompt ends with an assistant message, not a user message/,
  ],
  [
    { prompt: "q", chosen: [bot("a"), user("more?")], rejected: "b" },
    /chosen response ends with a user message/,
  ],
  [{ prompt: "q", chosen: [], rejected: "b" }, /the chosen response has no messages/],
];

test("each bad record is one line naming its file and line", async () => {
  const dir = fresh();
  const good = { prompt: "q", chosen: "a", rejected: "b" };
  for (const [i, [record, reason]] of BAD.entries()) {
    const path = writeJsonl(dir, `bad${i}.jsonl`, [good, record]);
    await usageError(readPairs([path]), new RegExp(`bad${i}\\.jsonl:2: .*${reason.source}`));
  }
});

test("conversations whose leading messages differ are refused; missing and mistyped fields named", async () => {
  const dir = fresh();
  const path = writeJsonl(dir, "c.jsonl", [
    { chosen: [user("q"), bot("a")], rejected: [user("Q"), bot("b")] },
  ]);
  await usageError(readPairs([path]), /c\.jsonl:1: chosen and rejected have different prompts/);
  const multi = writeJsonl(dir, "m.jsonl", [
    {
      chosen: [user("q"), bot("a1"), user("r"), bot("x")],
      rejected: [user("q"), bot("a2"), user("r"), bot("y")],
    },
  ]);
  await usageError(readPairs([multi]), /m\.jsonl:1: chosen and rejected have different prompts/);
  const missing = writeJsonl(dir, "x.jsonl", [
    { chosen: [user("q"), bot("a")], rejected: [user("q"), bot("b")] },
    { chosen: [user("q"), bot("a")], rejected: "b" },
  ]);
  await usageError(readPairs([missing]), /x\.jsonl:2: the "rejected" field is a string, not a list/);
  const empty = writeJsonl(dir, "e.jsonl", [{ chosen: [], rejected: [user("q"), bot("b")] }]);
  await usageError(readPairs([empty]), /e\.jsonl:1: the "chosen" conversation has no messages/);
  const orca = writeJsonl(dir, "o.jsonl", [{ system: null, question: "q", chosen: "a", rejected: ["b"] }]);
  await usageError(readPairs([orca]), /o\.jsonl:1: the "rejected" field is a list, not a string/);
});

test("skipBad skips bad records and reports each with its reason", async () => {
  const dir = fresh();
  const good = { prompt: "q", chosen: "a", rejected: "b" };
  const records = [good, ...BAD.map(([r]) => r), "not an object", good];
  const path = writeJsonl(dir, "mixed.jsonl", records);
  writeText(dir, "broken.jsonl", '{"prompt": "q", "chosen": \n');
  const bad: [string, string][] = [];
  const got = await readPairs([path, join(dir, "broken.jsonl")], {
    skipBad: true,
    onBad: (w, r) => bad.push([w, r]),
  });
  assert.deepEqual(
    got.map((p) => p.where),
    [`${path}:1`, `${path}:${records.length}`],
  );
  assert.equal(bad.length, BAD.length + 2);
  for (const [i, [, reason]] of BAD.entries()) {
    assert.equal(bad[i]![0], `${path}:${i + 2}`);
    assert.match(bad[i]![1], reason);
  }
  assert.match(bad[BAD.length]![1], /a record must be a JSON object/);
  assert.match(bad[BAD.length + 1]![1], /not valid JSON/);
});

test("a pair whose chosen equals its rejected is passed over and reported, not refused", async () => {
  const dir = fresh();
  const path = writeJsonl(dir, "same.jsonl", [
    { prompt: "q", chosen: "a", rejected: "a" },
    { prompt: "q", chosen: "a", rejected: "b" },
  ]);
  const conv = writeJsonl(dir, "conv.jsonl", [
    { chosen: [user("q"), bot("x")], rejected: [user("q"), bot("x")] },
  ]);
  const identical: string[] = [];
  const got = await readPairs([path, conv], { onIdentical: (w) => identical.push(w) });
  assert.deepEqual(
    got.map((p) => p.where),
    [`${path}:2`],
  );
  assert.deepEqual(identical, [`${path}:1`, `${conv}:1`]);
});

test("an input whose every pair is identical is one line once read; an empty one yields nothing", async () => {
  const dir = fresh();
  const same = writeJsonl(dir, "same.jsonl", [
    { prompt: "q", chosen: "a", rejected: "a" },
    { prompt: "r", chosen: [bot("b")], rejected: "b" },
  ]);
  const identical: string[] = [];
  await usageError(
    readPairs([same], { onIdentical: (w) => identical.push(w) }),
    /same\.jsonl: every pair \(2\) has its chosen response identical to its rejected one/,
  );
  assert.equal(identical.length, 2);
  assert.deepEqual(await readPairs([writeText(dir, "empty.jsonl", "")]), []);
});
