import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { RecipeError } from "../../src/errors.js";
import { MAX_YAML_BYTES, readYamlMapping } from "../../src/mergekit/mergekitYaml.js";
import { MAX_YAML_DEPTH, parsePlainYaml } from "../../src/mergekit/plainYaml.js";
import { fixture, runCli, tempDir } from "../helpers.js";

const fail = (d: string) => new RecipeError("c.yml", d);
/** The one-line message `text` is refused with. */
function refusal(text: string): string {
  try {
    parsePlainYaml(text, fail);
  } catch (e) {
    assert.ok(e instanceof RecipeError, String(e));
    assert.equal(e.message.includes("\n"), false, e.message);
    return e.message;
  }
  assert.fail(`accepted: ${text.slice(0, 80)}`);
}

test("plain YAML reads as before: mappings, lists, scalars, anchors, explicit core tags", () => {
  assert.deepEqual(
    parsePlainYaml("a: 1\nb: [x, 'y', {c: null}]\nd: &v 0.5\ne: *v\nf: !!str 7\n__proto__: 2\n", fail),
    JSON.parse('{"a": 1, "b": ["x", "y", {"c": null}], "d": 0.5, "e": 0.5, "f": "7", "__proto__": 2}'),
  );
  // Nesting up to the limit is fine.
  const deep = "a: " + "[".repeat(MAX_YAML_DEPTH - 4) + "]".repeat(MAX_YAML_DEPTH - 4) + "\n";
  assert.ok(parsePlainYaml(deep, fail));
});

test("tags, duplicates, nesting, loops and YAML 1.1 types are one-line errors naming the place", () => {
  assert.equal(
    refusal("merge_method: linear\nweight: !foo 1\n"),
    "c.yml: line 2, column 9: unresolved tag !foo: deepen reads plain YAML, without custom tags",
  );
  assert.match(
    refusal("a: !!binary aGVsbG8=\n"),
    /^c\.yml: line 1, column 4: unresolved tag tag:yaml\.org,2002:binary/,
  );
  assert.equal(refusal("a: 1\nb: 2\na: 3\n"), "c.yml: line 3, column 1: key a appears twice in one mapping");
  assert.equal(
    refusal("m:\n  1: x\n  '1': y\n"),
    "c.yml: line 3, column 3: key 1 appears twice in one mapping",
  );
  assert.match(refusal("? [a]\n: 1\n"), /^c\.yml: line 1, column 3: a mapping key must be a plain value/);
  // Refused as the nesting passes the limit (ten thousand levels crashed the process).
  assert.match(
    refusal("a: " + "[".repeat(10_000) + "]".repeat(10_000) + "\n"),
    new RegExp(`^c\\.yml: line 1, column 6\\d: nested deeper than ${MAX_YAML_DEPTH} levels$`),
  );
  assert.match(refusal("- ".repeat(100_000) + "x\n"), /nested deeper than 64 levels/);
  assert.match(refusal("a: &x [1, *x]\n"), /an alias names a collection that holds it/);
  assert.match(refusal("%YAML 1.1\n---\na: !!set {x}\n"), /holds a Set \(a YAML 1\.1 type/);
  assert.match(refusal("%YAML 1.1\n---\na: 2001-12-14\n"), /holds a Date/);
  assert.match(refusal("a: 1\n---\nb: 2\n"), /^c\.yml: line 2, column 1: a second YAML document; give one$/);
  assert.match(refusal("a: [1, 2\n"), /^c\.yml: not valid YAML: line \d+, column \d+: /);
  // A long token is quoted cut short.
  assert.ok(refusal(`a: !${"t".repeat(100_000)} 1\n`).length < 200);
  let aliases = "a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
  for (let i = 1; i < 30; i++)
    aliases += `a${i}: &a${i} [${Array(10)
      .fill(`*a${i - 1}`)
      .join(", ")}]\n`;
  assert.match(refusal(aliases), /not valid YAML: Excessive alias count/);
});

test("200k keys are checked for duplicates in linear time; a config over MAX_YAML_BYTES is not parsed", async () => {
  // Quadratic duplicate checks took minutes on keys like these.
  let keys = "";
  for (let i = 0; keys.length < MAX_YAML_BYTES - 20; i++) keys += `k${i}: ${i}\n`;
  const started = Date.now();
  assert.match(refusal(keys + "k7: 0\n"), /key k7 appears twice in one mapping/);
  assert.ok(Date.now() - started < 15_000, `${Date.now() - started} ms`);
  const root = tempDir();
  const big = join(root, "big.yml");
  writeFileSync(big, "a: 1\n" + "#".repeat(MAX_YAML_BYTES) + "\n");
  await assert.rejects(readYamlMapping(big, "x"), {
    message: `${big}: over ${MAX_YAML_BYTES} bytes; a mergekit config or task file is a few KB`,
  });
});

test("deepen merge and deepen upscale print the one line, not the yaml package's warning", async () => {
  const root = tempDir();
  const a = await fixture(root, { family: "llama", layers: 2 });
  const out = join(root, "out");
  const merge = join(root, "merge.yml");
  writeFileSync(
    merge,
    `models:\n  - model: ${a}\n    parameters:\n      weight: !w 1\nmerge_method: linear\n`,
  );
  const recipe = join(root, "recipe.yml");
  writeFileSync(
    recipe,
    `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 2]\nslices: []\nmerge_method: passthrough\n`,
  );
  const m = runCli(["merge", merge, "-o", out]);
  assert.equal(
    m.stderr,
    `deepen: ${merge}: line 4, column 15: unresolved tag !w: deepen reads plain YAML, without custom tags\n`,
  );
  assert.equal(m.code, 1);
  for (const args of [
    ["upscale", "--recipe", recipe, "-o", out],
    ["merge", recipe, "-o", out],
  ]) {
    const u = runCli(args);
    assert.equal(u.stderr, `deepen: ${recipe}: line 5, column 1: key slices appears twice in one mapping\n`);
    assert.equal(u.code, 1);
  }
  assert.equal(existsSync(out), false);
});
