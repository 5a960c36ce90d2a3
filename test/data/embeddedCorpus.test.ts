import assert from "node:assert/strict";
import { test } from "node:test";
import { listInputFiles, readDocuments } from "../../src/data/corpus.js";
import { embeddedFiles, HELDOUT_FROM_CHAPTER, HELDOUT_FROM_YEAR } from "../../src/data/embeddedCorpus.js";

test("the embedded corpus splits by name: recent addresses and the last chapters are held out", () => {
  const train = embeddedFiles("train");
  const heldout = embeddedFiles("heldout");
  const all = embeddedFiles("all");
  assert.equal(all.length, train.length + heldout.length);
  const trainNames = new Set(train.map((f) => f.name));
  assert.ok(
    heldout.every((f) => !trainNames.has(f.name)),
    "a file in both splits",
  );
  // 233 addresses (1790–2021) and 135 chapters plus etymology, extracts, epilogue.
  assert.equal(all.filter((f) => f.name.startsWith("sotu/")).length, 233);
  assert.equal(all.filter((f) => f.name.startsWith("moby-dick/")).length, 138);
  for (const f of heldout) {
    const year = /^sotu\/(\d{4})_/.exec(f.name);
    const chapter = /^moby-dick\/chapter_(\d+)\.txt$/.exec(f.name);
    assert.ok(
      (year && Number(year[1]) >= HELDOUT_FROM_YEAR) ||
        (chapter && Number(chapter[1]) >= HELDOUT_FROM_CHAPTER) ||
        f.name === "moby-dick/epilogue.txt",
      `${f.name} should not be held out`,
    );
  }
  assert.equal(heldout.length, 5 + 5 + 1);
  // The whole book (data.txt) and the table of contents are not prose documents: never included.
  assert.ok(!all.some((f) => /data\.txt|contents\.txt|\.json$/.test(f.name)));
  const bytes = (fs: typeof all) => fs.reduce((s, f) => s + f.bytes, 0);
  assert.ok(bytes(train) > 11e6 && bytes(heldout) > 1e5, `${bytes(train)} / ${bytes(heldout)}`);
  // Natural order: addresses by year, chapters by number.
  assert.match(train[0]!.name, /^sotu\/1790_/);
  const chapters = train.filter((f) => f.name.startsWith("moby-dick/chapter_")).map((f) => f.name);
  assert.equal(chapters[1], "moby-dick/chapter_2.txt");
});

test("embedded:SPLIT works wherever data paths are read; an unknown split is a usage error", async () => {
  const files = await listInputFiles(["embedded:heldout"]);
  assert.equal(files.length, 11);
  let docs = 0;
  for await (const d of readDocuments(["embedded:heldout"])) {
    assert.ok(d.text.length > 1000);
    docs++;
  }
  assert.equal(docs, 11);
  await assert.rejects(
    listInputFiles(["embedded:everything"]),
    /embedded:everything: unknown part of the embedded corpus/,
  );
});
