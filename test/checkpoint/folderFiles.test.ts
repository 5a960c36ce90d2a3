import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CARD_FILE, writeFolderFiles } from "../../src/checkpoint/folderFiles.js";
import { LINEAGE_FILE, type Lineage, readLineage } from "../../src/checkpoint/lineage.js";
import { fixture, readJson, tempDir } from "../helpers.js";

const root = tempDir();

const lineage: Lineage = {
  deepen_version: "0.0.0",
  method: "test",
  recipe: {},
  sources: [],
  layer_map: [],
  new_layers: [],
  parameters: 0,
  parents: [],
};

test("writes config, lineage and card, and carries only the source's tokenizer and settings files", async () => {
  const src = await fixture(root, { family: "llama", layers: 1 });
  // A source that is itself an output: its own card and lineage must not reach the new folder.
  writeFileSync(join(src, CARD_FILE), "the source's card\n");
  writeFileSync(join(src, LINEAGE_FILE), JSON.stringify({ ...lineage, method: "source" }));
  const out = join(root, "out");
  mkdirSync(out);
  await writeFolderFiles(out, {
    config: { num_hidden_layers: 7 },
    carryFrom: src,
    lineage,
    card: "# card\n",
  });

  assert.deepEqual(readJson(join(out, "config.json")), { num_hidden_layers: 7 });
  assert.equal(readFileSync(join(out, CARD_FILE), "utf8"), "# card\n");
  assert.deepEqual(await readLineage(out), lineage);
  assert.ok(!readdirSync(out).some((f) => f.endsWith(".safetensors") || f.endsWith(".index.json")));
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(src, f))), `${f} carried unchanged`);
});

test("a lineage file that is not one, or nests past its limit, is one error naming it", async () => {
  const dir = join(root, "bad-lineage");
  mkdirSync(dir);
  const cases: [string, RegExp][] = [
    [
      `{"sources": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
      /deepen\.json: nests deeper than 1024 levels/,
    ],
    ["[1]", /deepen\.json: not a deepen lineage/],
    ["{", /deepen\.json: not valid JSON/],
  ];
  for (const [text, pattern] of cases) {
    writeFileSync(join(dir, LINEAGE_FILE), text);
    await assert.rejects(
      readLineage(dir),
      (e: Error) => e.name === "CheckpointError" && pattern.test(e.message),
    );
  }
  // A long chain of generations stays readable: 300 nested parents.
  let deep: Lineage = lineage;
  for (let i = 0; i < 300; i++) deep = { ...lineage, parents: [deep] };
  writeFileSync(join(dir, LINEAGE_FILE), JSON.stringify(deep));
  assert.equal((await readLineage(dir))!.parents.length, 1);
});
