import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  detectFormat,
  parseInstructionFormat,
  type InstructionFormat,
} from "../../../src/data/instruct/formats.js";
import { tempDir } from "../../helpers.js";
import {
  bot,
  jsonl,
  SAMPLES,
  sys,
  user,
  writeJsonl,
  writeText,
  read,
  content,
  usageError,
} from "./samples.js";

const root = tempDir("deepen-instruct-shapes-");
let count = 0;
const fresh = () => join(root, `d${count++}`);

for (const [name, sample] of Object.entries(SAMPLES)) {
  test(`JSONL in the ${name} shape reads as the expected examples, its shape detected`, async () => {
    const path = writeJsonl(fresh(), `${name}.jsonl`, sample.records);
    const told: [string, InstructionFormat][] = [];
    const got = await read([path], { onFile: (p, f) => told.push([p, f]) });
    assert.deepEqual(got.map(content), sample.expected);
    assert.deepEqual(told, [[path, sample.format]]);
    assert.deepEqual(
      got.map((e) => e.where),
      sample.records.map((_, i) => `${path}:${i + 1}`),
    );
    assert.deepEqual(
      got.map((e) => e.record),
      sample.records,
    );
    for (const e of got) assert.equal(e.kind, sample.format === "text" ? "text" : "chat");
  });
}

test("the raw record carries the fields a caller reads beyond the chat", async () => {
  const path = writeJsonl(fresh(), "m.jsonl", SAMPLES.messages!.records);
  const [first, second] = await read([path]);
  assert.equal(first?.record.level, 3);
  assert.equal(second?.record.answer, "Paris");
});

test("prompt-completion examples say where the completion starts", async () => {
  const path = writeJsonl(fresh(), "pc.jsonl", [
    ...SAMPLES["prompt-completion"]!.records,
    { prompt: [user("1+1?"), bot("2"), user("2+2?")], completion: "4" },
  ]);
  const got = await read([path]);
  assert.deepEqual(
    got.map((e) => (e.kind === "chat" ? e.completionStart : -1)),
    [1, 2, 3],
  );
  // Other shapes leave it unset.
  const [m] = await read([writeJsonl(fresh(), "m.jsonl", SAMPLES.messages!.records)]);
  assert.equal(m?.kind === "chat" ? m.completionStart : -1, undefined);
});

test("messages after the last assistant turn are dropped; a chat without one is an error", async () => {
  const dir = fresh();
  const path = writeJsonl(dir, "trailing.jsonl", [{ messages: [user("a"), bot("b"), user("c")] }]);
  assert.deepEqual((await read([path])).map(content), [[user("a"), bot("b")]]);
  const none = writeJsonl(dir, "none.jsonl", [
    { messages: [user("a"), bot("b")] },
    { messages: [sys("s"), user("a")] },
  ]);
  await usageError(read([none]), /none\.jsonl:2: no assistant turn/);
  await usageError(
    read([writeJsonl(dir, "empty.jsonl", [{ messages: [] }])]),
    /empty\.jsonl:1: no assistant turn/,
  );
  await usageError(
    read([writeJsonl(dir, "pc.jsonl", [{ prompt: "p", completion: [user("u")] }])]),
    /pc\.jsonl:1: the "completion" has no assistant turn/,
  );
});

test("each kind of bad record is one line naming the file and line", async () => {
  const dir = fresh();
  const cases: [string, string, RegExp][] = [
    ["json", '{"messages": [\n', /:1: not valid JSON/],
    ["array", "[1, 2]\n", /:1: a record must be a JSON object, not a list/],
    ["string", '"hello"\n', /:1: a record must be a JSON object, not a string/],
    ["messages-type", jsonl([{ messages: "hi" }]), /:1: the "messages" field is a string, not a list/],
    ["message-type", jsonl([{ messages: ["hi"] }]), /:1: messages\[0\] is a string, not a message object/],
    ["role", jsonl([{ messages: [{ content: "x" }] }]), /:1: messages\[0\] has no string "role"/],
    [
      "content",
      jsonl([{ messages: [{ role: "user", content: null }] }]),
      /:1: messages\[0\] has no string "content".*null/,
    ],
    [
      "unknown-role",
      jsonl([{ messages: [{ role: "tool", content: "x" }] }]),
      /:1: messages\[0\]: unknown role "tool"/,
    ],
    [
      "sharegpt-role",
      jsonl([{ conversations: [{ from: "bing", value: "x" }] }]),
      /:1: conversations\[0\]: unknown role "bing"/,
    ],
    [
      "alpaca-output",
      jsonl([{ instruction: "i", output: 3 }]),
      /:1: the "output" field is a number, not a string/,
    ],
    [
      "alpaca-input",
      jsonl([{ instruction: "i", input: ["x"], output: "o" }]),
      /:1: the "input" field is a list/,
    ],
    [
      "prompt",
      jsonl([{ prompt: 1, completion: "c" }]),
      /:1: the "prompt" field is a number, not a string or a list/,
    ],
    ["orca", jsonl([{ question: "q", response: false }]), /:1: the "response" field is a boolean/],
    ["text", jsonl([{ text: { a: 1 } }]), /:1: the "text" field is an object, not a string/],
  ];
  for (const [name, body, pattern] of cases) {
    const path = writeText(dir, `${name}.jsonl`, body);
    await usageError(read([path]), new RegExp(`${name}\\.jsonl${pattern.source}`));
  }
});

test("a later record missing its shape's field names the field and the shape", async () => {
  const path = writeJsonl(fresh(), "mixed.jsonl", [
    { instruction: "i", output: "o" },
    { messages: [user("a"), bot("b")] },
  ]);
  await usageError(read([path]), /mixed\.jsonl:2: no "instruction" field \(needed by the alpaca shape\)/);
});

test("a record of no known shape lists its fields and the accepted shapes", async () => {
  const path = writeJsonl(fresh(), "odd.jsonl", [{ query: "q", answer: "a" }]);
  await usageError(
    read([path]),
    /odd\.jsonl:1: cannot tell the record shape from its fields \(query, answer\); accepted: messages \(messages\), sharegpt \(conversations\).*--format/,
  );
});

test("skipBad skips bad records, reporting each, and keeps the good ones in order", async () => {
  const path = writeText(
    fresh(),
    "bad.jsonl",
    [
      "not json",
      JSON.stringify({ messages: [user("a"), bot("b")] }),
      "[]",
      JSON.stringify({ messages: [user("c")] }),
      "",
      JSON.stringify({ messages: [user("d"), { role: "robot", content: "x" }] }),
      JSON.stringify({ messages: [user("e"), bot("f")] }),
    ].join("\n"),
  );
  const bad: [string, string][] = [];
  const got = await read([path], { skipBad: true, onBad: (w, r) => bad.push([w, r]) });
  assert.deepEqual(got.map(content), [
    [user("a"), bot("b")],
    [user("e"), bot("f")],
  ]);
  assert.deepEqual(
    got.map((e) => e.where),
    [`${path}:2`, `${path}:7`],
  );
  assert.deepEqual(
    bad.map(([w]) => w),
    [`${path}:1`, `${path}:3`, `${path}:4`, `${path}:6`],
  );
  assert.match(bad[0]![1], /^not valid JSON/);
  assert.match(bad[2]![1], /^no assistant turn/);
  // Without skipBad the first one throws.
  await usageError(read([path]), /bad\.jsonl:1: not valid JSON/);
});

test("skipBad does not skip a file whose shape cannot be told", async () => {
  const path = writeJsonl(fresh(), "odd.jsonl", [{ query: "q" }, { text: "t" }]);
  await usageError(read([path], { skipBad: true }), /odd\.jsonl:1: cannot tell the record shape/);
});

test("a named format overrides detection", async () => {
  const dir = fresh();
  // Records with both a chat and a text: detection picks messages, --format text the text.
  const path = writeJsonl(dir, "both.jsonl", [{ messages: [user("a"), bot("b")], text: "rendered" }]);
  assert.deepEqual((await read([path])).map(content), [[user("a"), bot("b")]]);
  const told: InstructionFormat[] = [];
  assert.deepEqual((await read([path], { format: "text", onFile: (_, f) => told.push(f) })).map(content), [
    "rendered",
  ]);
  assert.deepEqual(told, ["text"]);
  // A shape the records lack names the missing field.
  await usageError(read([path], { format: "alpaca" }), /both\.jsonl:1: no "instruction" field/);
  // A shape no detection would choose: conversations with role/content under --format sharegpt.
  const odd = writeJsonl(dir, "odd.jsonl", [{ conversations: [user("q"), bot("r")] }]);
  assert.deepEqual((await read([odd], { format: "sharegpt" })).map(content), [[user("q"), bot("r")]]);
});

test("format names parse, and detection follows the documented order", () => {
  assert.equal(parseInstructionFormat("prompt-completion"), "prompt-completion");
  assert.throws(
    () => parseInstructionFormat("chatml"),
    /--format: "chatml" is not a record shape; use one of messages, sharegpt/,
  );
  assert.equal(detectFormat(["prompt", "prompt_id", "messages"]), "messages");
  assert.equal(detectFormat(["instruction", "input", "output", "text"]), "alpaca");
  assert.equal(detectFormat(["system_prompt", "question", "response"]), "openorca");
  assert.equal(detectFormat(["prompt"]), undefined);
});

test("an empty file yields nothing and is not reported", async () => {
  const dir = fresh();
  const path = writeJsonl(dir, "empty.jsonl", []);
  const told: string[] = [];
  assert.deepEqual(await read([path], { onFile: (p) => told.push(p) }), []);
  assert.deepEqual(told, []);
});
