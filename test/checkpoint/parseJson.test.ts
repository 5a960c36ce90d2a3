// The JSON reader every file of a model folder goes through: JSON.parse plus a depth limit and,
// for safetensors headers, refused duplicate keys; and the bounded previews messages show.
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsonTextError, parseJson } from "../../src/checkpoint/parseJson.js";
import { previewJson } from "../../src/checkpoint/previewJson.js";

const refused = (text: string, limits: Parameters<typeof parseJson>[1], pattern: RegExp, syntax = false) =>
  assert.throws(
    () => parseJson(text, limits),
    (e: Error) => e instanceof JsonTextError && e.syntax === syntax && pattern.test(e.message),
  );

test("depth counts open containers; brackets inside strings do not count", () => {
  assert.deepEqual(parseJson('{"a":[{"b":1}]}', { maxDepth: 3 }), { a: [{ b: 1 }] });
  refused('{"a":[{"b":[1]}]}', { maxDepth: 3 }, /^nests deeper than 3 levels at character 11$/);
  assert.deepEqual(parseJson('["[[[[", "\\"[[[["]', { maxDepth: 1 }), ["[[[[", '"[[[[']);
  assert.deepEqual(parseJson("[[],[],[]]", { maxDepth: 2 }), [[], [], []]);
});

test("duplicate keys are refused where asked, at any level, escapes decoded", () => {
  const dup = { maxDepth: 8, refuseDuplicateKeys: true };
  assert.deepEqual(
    parseJson('{"a":1,"a":2}', { maxDepth: 8 }),
    { a: 2 },
    "JSON.parse's last-wins where not asked",
  );
  refused('{"a":1,"a":2}', dup, /^repeats the key "a" at character 7 /);
  refused('{"x":{"k":1,"\\u006b":2}}', dup, /repeats the key "k"/);
  // The same key in sibling objects, values that equal keys, and keys after arrays are fine.
  assert.deepEqual(parseJson('[{"a":"a"},{"a":["a","a"],"b":{"a":1}}]', dup), [
    { a: "a" },
    { a: ["a", "a"], b: { a: 1 } },
  ]);
});

test("anything else malformed is JSON.parse's error, on one line", () => {
  refused('{"a":1', { maxDepth: 8 }, /JSON/, true);
  refused('{"a":1 "a":2}', { maxDepth: 8, refuseDuplicateKeys: true }, /JSON/, true);
  refused('{"a\\q":1}', { maxDepth: 8, refuseDuplicateKeys: true }, /JSON/, true);
  refused("x".repeat(100_000), { maxDepth: 8 }, /^[^\n]{1,201}$/, true);
});

test("previews are short whatever the value", () => {
  assert.equal(previewJson([1, "a", null, { b: true }]), '[1,"a",null,{"b":true}]');
  assert.equal(previewJson(undefined), "undefined");
  assert.equal(previewJson(NaN), "NaN");
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const p = previewJson(deep);
  assert.equal(p, "[".repeat(80) + "…");
  assert.ok(previewJson("z".repeat(1e6)).length <= 81);
  assert.ok(
    previewJson(Object.fromEntries(Array.from({ length: 1e5 }, (_, i) => [`k${i}`, i]))).length <= 81,
  );
});
