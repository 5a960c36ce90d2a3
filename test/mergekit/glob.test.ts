import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type Glob, globMatchesAnywhere, parseGlob } from "../../src/mergekit/glob.js";
import { evaluateSetting, parseParameterSetting } from "../../src/mergekit/scaleRules.js";
import { RecipeError } from "../../src/errors.js";
import { fixture, runCli, tempDir } from "../helpers.js";

const glob = (f: string): Glob => {
  const g = parseGlob(f);
  assert.notEqual(typeof g, "string", `${f}: ${String(g)}`);
  return g as Glob;
};
const matches = (f: string, name: string) => globMatchesAnywhere(glob(f), name);

test("filters are fnmatch globs matched anywhere in the name; other characters stand for themselves", () => {
  const q = "model.layers.12.self_attn.q_proj.weight";
  for (const f of [
    "",
    "*",
    "q_proj",
    "self_attn.*_proj",
    "layers.1?.self",
    "[qk]_proj",
    "[!vo]_proj",
    "layers.[0-2]",
  ])
    assert.ok(matches(f, q), f);
  for (const f of [
    "v_proj",
    "[!q]_proj",
    "layers.[3-9]",
    "layers.?.",
    "layers.12.self_attn.q_proj.weight.",
    "a.b",
  ])
    assert.ok(!matches(f, q), f);
  // Regular-expression and fnmatch specials outside brackets are literal.
  assert.ok(matches("a.b", "xa.by") && !matches("a.b", "axb"));
  for (const s of ["(", ")", "+", "^", "$", "{", "}", "|", "\\", "]"])
    assert.ok(matches(`x${s}`, `ax${s}b`), s);
  assert.ok(
    matches("[]]", "a]b") && matches("[[]", "a[b") && matches("[!]]", "]a") && !matches("[!]]", "]]"),
  );
  assert.ok(matches("x*y*z", "..x..y..z..") && !matches("x*y*z", "..z..y..x.."));
  // Many stars are no backtracking trap: the match is linear in the filter times the name.
  const many = "*a".repeat(5000) + "*b";
  const started = Date.now();
  assert.ok(!matches(many, "a".repeat(4000)));
  assert.ok(Date.now() - started < 2000);
});

test("a [ without its ] or a reversed range is refused, naming the place and the filter", () => {
  assert.match(
    String(parseGlob("[")),
    /the \[ at character 1 has no closing \] \(write \[\[\] for a literal \[\)/,
  );
  assert.match(String(parseGlob("mlp.[!")), /the \[ at character 5 has no closing \]/);
  assert.match(String(parseGlob("layers.[9-0]")), /the range 9-0 at character 8 is reversed/);
  const fail = (d: string) => new RecipeError("r.yml", d);
  assert.throws(
    () => parseParameterSetting([{ filter: "[", value: 1 }, { value: 0 }], "parameters.scale", fail),
    (e: unknown) => {
      assert.ok(e instanceof RecipeError);
      assert.equal(
        e.message,
        'r.yml: parameters.scale[0].filter "[" is not a valid glob: the [ at character 1 has no closing ] (write [[] for a literal [)',
      );
      return true;
    },
  );
  const long = "[" + "x".repeat(10_000);
  assert.throws(
    () => parseParameterSetting({ filter: long, value: 1 }, "parameters.t", fail),
    (e: unknown) => e instanceof Error && e.message.length < 200,
  );
  const s = parseParameterSetting([{ filter: "[qk]_proj", value: 2 }, { value: 1 }], "p", fail);
  assert.equal(evaluateSetting(s, "a.k_proj.weight", 0), 2);
  assert.equal(evaluateSetting(s, "a.v_proj.weight", 0), 1);
});

test("deepen merge and deepen upscale print one line for an invalid filter and write nothing", async () => {
  const root = tempDir();
  const a = await fixture(root, { family: "llama", layers: 2, seed: 1 });
  const b = await fixture(root, { family: "llama", layers: 2, seed: 2 });
  const merge = join(root, "merge.yml");
  writeFileSync(
    merge,
    `models:\n  - model: ${a}\n  - model: ${b}\nmerge_method: linear\nparameters:\n  weight:\n    - filter: "["\n      value: 1\n    - value: 0.5\n`,
  );
  const recipe = join(root, "recipe.yml");
  writeFileSync(
    recipe,
    `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 2]\n        parameters:\n          scale:\n            - filter: "o_proj[z-a]"\n              value: 0\nmerge_method: passthrough\n`,
  );
  const out = join(root, "out");
  const m = runCli(["merge", merge, "-o", out]);
  assert.equal(
    m.stderr,
    `deepen: ${merge}: parameters.weight[0].filter "[" is not a valid glob: the [ at character 1 has no closing ] (write [[] for a literal [)\n`,
  );
  assert.equal(m.code, 1);
  for (const args of [
    ["upscale", "--recipe", recipe, "-o", out],
    ["merge", recipe, "-o", out],
  ]) {
    const u = runCli(args);
    assert.equal(
      u.stderr,
      `deepen: ${recipe}: slices[0].sources[0].parameters.scale[0].filter "o_proj[z-a]" is not a valid glob: the range z-a at character 7 is reversed\n`,
    );
    assert.equal(u.code, 1);
  }
  assert.equal(existsSync(out), false);
});
