// The fuzz suite's own judgements, checked without running deepen: the reference safetensors rules,
// the strict JSON reader, and what each kind of corruption lets exit 0 mean.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parse as yamlParse } from "yaml";
import type { Clean, Command, Expect } from "./cases.js";
import { configExpect, corruptConfig, type ConfigMutation, UNPARSEABLE } from "./configCases.js";
import { corruptSafetensors, type SafetensorsMutation, safetensorsExpect } from "./safetensorsCases.js";
import { validateSafetensors } from "./safetensorsOracle.js";
import { parseStrictJson, StrictJsonError } from "./strictJson.js";
import { writeClean } from "./suite.js";

const root = mkdtempSync(join(tmpdir(), "deepen-fuzz-oracles-"));
after(() => rmSync(root, { recursive: true, force: true }));
const clean: Clean = await writeClean(join(root, "clean"));

const kinds = (mut: SafetensorsMutation) => {
  const r = validateSafetensors(corruptSafetensors(mut, clean).file);
  const of = (cmd: Command) => safetensorsExpect(r, clean.tensors, cmd).kind;
  return { inspect: of("inspect"), upscale: of("upscale"), eval: of("eval"), merge: of("merge") };
};
const all = (k: Expect["kind"]) => ({ inspect: k, upscale: k, eval: k, merge: k });

test("the clean fixture is valid by the reference rules: 21 tensors tiling the data exactly", () => {
  const r = validateSafetensors(clean.safetensors);
  assert.ok(r.ok);
  assert.equal(r.tensors.length, 21);
  assert.equal(
    r.tensors.reduce((s, t) => s + t.data.length, 0),
    443648,
  );
});

test("re-encodings of the header are harmless; breaking the tiling, duplicates and nesting are not", () => {
  for (const how of ["pretty", "reverse", "no-metadata", "more-metadata", "padding", "extra-field"] as const)
    assert.deepEqual(kinds({ m: "reformat", how }), all("same"), how);
  const invalid: SafetensorsMutation[] = [
    { m: "truncate", zone: "data", pos: 5 },
    { m: "truncate", zone: "length", pos: 3 },
    { m: "append", bytes: 1 },
    { m: "header-length", delta: -1 },
    { m: "header-length", delta: 1 },
    { m: "header-length-set", value: "18446744073709551615" },
    { m: "shape", tensor: 3, how: "append0", dim: 0, value: "" },
    { m: "shape", tensor: 3, how: "set", dim: 0, value: "64.0" },
    { m: "dtype", tensor: 3, value: '"F16"' },
    { m: "dtype", tensor: 3, value: '"constructor"' },
    { m: "offsets", tensor: 3, how: "end", k: 1, value: "" },
    { m: "delete", tensor: 4, keepData: true },
    { m: "not-object", json: "[]" },
    ...(["identical", "other-span", "into-gap", "other-shape", "metadata"] as const).map(
      (how): SafetensorsMutation => ({ m: "duplicate", tensor: 2, how }),
    ),
    ...(["metadata", "dtype", "shape", "offsets", "extra", "root"] as const).map(
      (where): SafetensorsMutation => ({ m: "nest", where, depth: 2, obj: false }),
    ),
  ];
  for (const mut of invalid) assert.deepEqual(kinds(mut), all("fail"), JSON.stringify(mut));
});

test("valid files that are not the architecture's model: inspect may report them, nothing else may use them", () => {
  const notTheModel = { inspect: "any", upscale: "fail", eval: "fail", merge: "fail" };
  assert.deepEqual(kinds({ m: "delete", tensor: 4, keepData: false }), notTheModel);
  assert.deepEqual(kinds({ m: "proto-name", tensor: 4, name: "__proto__", rename: true }), notTheModel);
  assert.deepEqual(kinds({ m: "shape", tensor: 3, how: "append1", dim: 0, value: "" }), notTheModel);
  assert.deepEqual(kinds({ m: "empty" }), notTheModel);
  // Other values in the same places, or an extra tensor, are a different but usable model.
  assert.deepEqual(kinds({ m: "offsets", tensor: 2, how: "swap", k: 1, value: "" }), all("any"));
  assert.deepEqual(kinds({ m: "data-bitflip", pos: 1000, bit: 2 }), all("any"));
  assert.deepEqual(kinds({ m: "proto-name", tensor: 4, name: "constructor", rename: false }), all("any"));
  assert.deepEqual(kinds({ m: "dtype", tensor: 3, value: '"I32"' }), all("any"));
});

test("the strict JSON reader keeps duplicates and number text, and stops at serde_json's depth", () => {
  const v = parseStrictJson('{"a": 1, "a": 9007199254740993}');
  assert.deepEqual(v, {
    t: "obj",
    entries: [
      ["a", { t: "num", text: "1" }],
      ["a", { t: "num", text: "9007199254740993" }],
    ],
  });
  assert.doesNotThrow(() => parseStrictJson("[".repeat(127) + "]".repeat(127)));
  assert.throws(() => parseStrictJson("[".repeat(128) + "]".repeat(128)), StrictJsonError);
  assert.throws(() => parseStrictJson("[".repeat(100_000)), StrictJsonError);
  assert.throws(() => parseStrictJson('{"a": 1} x'), StrictJsonError);
});

test("config keys: structural ones must match the tensors, engine ones must be usable, unknown ones change nothing", () => {
  const of = (mut: ConfigMutation, cmd: Command) => {
    const r = corruptConfig(mut, clean);
    return r.meaning === UNPARSEABLE ? "unparseable" : configExpect(clean.config, r.meaning, cmd).kind;
  };
  assert.equal(of({ m: "set", key: "rms_norm_eps", value: "0" }, "eval"), "fail");
  assert.equal(of({ m: "set", key: "rms_norm_eps", value: "0" }, "upscale"), "same");
  assert.equal(of({ m: "set", key: "rope_theta", value: "NaN" }, "eval"), "fail");
  assert.equal(of({ m: "set", key: "num_hidden_layers", value: "1" }, "eval"), "fail");
  assert.equal(of({ m: "set", key: "num_hidden_layers", value: "1e9" }, "inspect"), "any");
  assert.equal(of({ m: "set", key: "num_hidden_layers", value: "2" }, "merge"), "same");
  assert.equal(of({ m: "delete", key: "head_dim" }, "upscale"), "same");
  assert.equal(of({ m: "delete", key: "num_key_value_heads" }, "upscale"), "fail");
  assert.equal(of({ m: "hidden-act", value: "gelu" }, "eval"), "differ");
  assert.equal(of({ m: "hidden-act", value: "swish" }, "eval"), "same");
  assert.equal(of({ m: "hidden-act", value: "SiLU" }, "eval"), "fail");
  assert.equal(of({ m: "rope-scaling", type: '"linear"', factor: "0" }, "eval"), "fail");
  assert.equal(of({ m: "rope-scaling", type: '"linear"', factor: "2" }, "eval"), "any");
  assert.equal(of({ m: "add", key: "__proto__", value: '{"num_hidden_layers": 100}' }, "eval"), "same");
  assert.equal(of({ m: "nest", key: "fuzz_nested", depth: 100_000, obj: false }, "upscale"), "same");
  assert.equal(of({ m: "truncate", pos: 10 }, "eval"), "unparseable");
});

test("YAML number forms the cases rely on are numbers to the yaml parser deepen uses", () => {
  assert.equal(yamlParse("1e308"), 1e308);
  assert.ok(Number.isNaN(yamlParse(".nan")));
  assert.equal(yamlParse("-.inf"), -Infinity);
  assert.deepEqual(yamlParse("[0, 2.0]"), [0, 2]);
});
