import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  fileFormat,
  listInputFiles,
  readDocuments,
  skippedNote,
  type Document,
} from "../../src/data/corpus.js";
import { UsageError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";

const root = tempDir("deepen-corpus-");
let count = 0;

/** Writes `files` (relative path → content) into a fresh folder and returns it. */
function folder(files: Record<string, string | Buffer>): string {
  const dir = join(root, `c${count++}`);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

async function all(paths: string[], textField?: string): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of readDocuments(paths, textField === undefined ? {} : { textField })) out.push(d);
  return out;
}

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

async function usageError(p: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UsageError, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    return true;
  });
}

test("file formats come from the name", () => {
  assert.deepEqual(fileFormat("a.txt"), { format: "text", gzip: false });
  assert.deepEqual(fileFormat("a.md"), { format: "text", gzip: false });
  assert.throws(() => fileFormat("a.json"), /a\.json: \.json is ambiguous; give JSON Lines .* as \.jsonl/);
  assert.throws(() => fileFormat("train-00000.parquet"), /not a text or JSONL file/);
  assert.deepEqual(fileFormat("a.jsonl"), { format: "jsonl", gzip: false });
  assert.deepEqual(fileFormat("a.JSONL.GZ"), { format: "jsonl", gzip: true });
  assert.deepEqual(fileFormat("a.txt.gz"), { format: "text", gzip: true });
  assert.deepEqual(fileFormat("a.gz"), { format: "text", gzip: true });
});

test("binary data is refused, not trained on as text; a folder's non-text files are skipped and named", async () => {
  const dir = folder({ "a.txt": "fine", "run.sh": "#!/bin/sh\necho hi\n", "notes.md": "# notes" });
  writeFileSync(join(dir, "blob.dat"), Buffer.from([0x50, 0x4b, 0x00, 0x01, 0xff, 0xfe]));
  await assert.rejects(
    (async () => {
      for await (const d of readDocuments([join(dir, "blob.dat")])) void d;
    })(),
    /blob\.dat: binary data, not UTF-8 text/,
  );
  await assert.rejects(
    (async () => {
      for await (const d of readDocuments([dir], { extensions: ["dat", "txt"] })) void d;
    })(),
    /blob\.dat: binary data, not UTF-8 text/,
  );
  const skipped: string[] = [];
  const texts: string[] = [];
  for await (const d of readDocuments([dir], { onSkip: (p) => skipped.push(p) })) texts.push(d.text);
  assert.deepEqual(texts, ["fine", "# notes"]);
  assert.deepEqual(skipped, [join(dir, "blob.dat"), join(dir, "run.sh")]);
  assert.equal(
    skippedNote(skipped),
    `skipped 2 files not ending in .txt, .md, .jsonl (or .gz of those; --ext chooses): ${join(dir, "blob.dat")}, ${join(dir, "run.sh")}`,
  );
});

test("a text file is one document, whatever its extension; a BOM is dropped, empty files skipped", async () => {
  const dir = folder({
    "a.txt": "first line\nsecond line\n",
    "b.md": "\ufeff# Title\r\nbody",
    "empty.txt": "",
  });
  const docs = await all([join(dir, "a.txt"), join(dir, "b.md"), join(dir, "empty.txt")]);
  assert.deepEqual(docs, [
    { text: "first line\nsecond line\n", source: join(dir, "a.txt") },
    { text: "# Title\r\nbody", source: join(dir, "b.md") },
  ]);
});

test("JSONL: one document per non-empty line, CRLF and blank lines allowed, another text field", async () => {
  const dir = folder({
    "a.jsonl": '{"text": "one", "id": 1}\r\n\n   \n{"text": "two\\nlines"}\n{"text": ""}\n{"text": "last"}',
    "b.jsonl": jsonl([{ content: "x", text: 5 }, { content: "y" }]),
  });
  const a = join(dir, "a.jsonl");
  assert.deepEqual(await all([a]), [
    { text: "one", source: `${a}:1` },
    { text: "two\nlines", source: `${a}:4` },
    { text: "last", source: `${a}:6` },
  ]);
  assert.deepEqual(
    (await all([join(dir, "b.jsonl")], "content")).map((d) => d.text),
    ["x", "y"],
  );
});

test("gzip of JSONL and of text, by the name without .gz", async () => {
  const rows = [{ text: "héllo wörld" }, { text: "日本語" }];
  const dir = folder({
    "a.jsonl.gz": gzipSync(jsonl(rows)),
    "b.txt.gz": gzipSync("plain ✓ text"),
    "c.gz": gzipSync("also text"),
  });
  assert.deepEqual(
    (await all([join(dir, "a.jsonl.gz"), join(dir, "b.txt.gz"), join(dir, "c.gz")])).map((d) => d.text),
    ["héllo wörld", "日本語", "plain ✓ text", "also text"],
  );
  const docs = await all([join(dir, "a.jsonl.gz")]);
  assert.equal(docs[1]!.source, `${join(dir, "a.jsonl.gz")}:2`);
});

test("lines and multi-byte characters that straddle read chunks come out whole", async () => {
  // ~1 MB: many 64 KiB stream chunks, cut inside lines and inside UTF-8 sequences.
  const rows = Array.from({ length: 4000 }, (_, i) => ({ text: `${i} ` + "é日🎉".repeat((i * 7) % 50) }));
  const dir = folder({ "big.jsonl": jsonl(rows), "big.jsonl.gz": gzipSync(jsonl(rows)) });
  const want = rows.map((r) => r.text);
  assert.deepEqual(
    (await all([join(dir, "big.jsonl")])).map((d) => d.text),
    want,
  );
  assert.deepEqual(
    (await all([join(dir, "big.jsonl.gz")])).map((d) => d.text),
    want,
  );
  const text = rows.map((r) => r.text).join("\n");
  const t = folder({ "big.txt": text });
  assert.deepEqual(await all([join(t, "big.txt")]), [{ text, source: join(t, "big.txt") }]);
});

test("folders: recursive, sorted by path, dot-files and dot-folders skipped; inputs keep their order", async () => {
  const dir = folder({
    "b.txt": "B",
    "a/z.txt": "AZ",
    "a/b/c.jsonl": jsonl([{ text: "ABC1" }, { text: "ABC2" }]),
    "a-b.txt": "A-B",
    ".hidden.txt": "no",
    ".git/config": "no",
    "a/.DS_Store": "no",
    "C.txt": "C",
  });
  const single = folder({ "x.txt": "X" });
  symlinkSync(join(dir, "a"), join(dir, "loop-link")); // a link to a folder is followed
  symlinkSync(dir, join(dir, "a", "up")); // a link back up the tree is not
  const files = await listInputFiles([join(single, "x.txt"), dir]);
  assert.deepEqual(
    files.map((f) => f.name),
    [
      "x.txt",
      "C.txt",
      "a-b.txt",
      "a/b/c.jsonl",
      "a/z.txt",
      "b.txt",
      "loop-link/b/c.jsonl",
      "loop-link/z.txt",
    ],
  );
  assert.equal(files[0]!.path, join(single, "x.txt"));
  assert.equal(files[3]!.path, join(dir, "a", "b", "c.jsonl"));
  assert.equal(files[0]!.bytes, 1);
  const texts = (await all([join(single, "x.txt"), dir])).map((d) => d.text);
  assert.deepEqual(texts, ["X", "C", "A-B", "ABC1", "ABC2", "AZ", "B", "ABC1", "ABC2", "AZ"]);
});

test("a path that does not exist is named", async () => {
  const dir = folder({ "a.txt": "x" });
  await usageError(all([join(dir, "a.txt"), join(dir, "nope.jsonl")]), /nope\.jsonl: no such file or folder/);
});

test("JSONL errors name the file and the line", async () => {
  const dir = folder({
    "bad.jsonl": '{"text": "ok"}\n\n{"text": "broken\n',
    "notobj.jsonl": '{"text": "ok"}\n["text"]\n',
    "missing.jsonl": '{"text": "ok"}\n{"body": "x"}\n',
    "number.jsonl": '{"text": 3}\n',
    "null.jsonl.gz": gzipSync('{"text": "ok"}\n{"text": "ok"}\n{"text": null}\n'),
  });
  const f = (name: string) => join(dir, name);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  await usageError(all([f("bad.jsonl")]), new RegExp(`^${esc(f("bad.jsonl"))}:3: not valid JSON`));
  await usageError(all([f("notobj.jsonl")]), new RegExp(`^${esc(f("notobj.jsonl"))}:2: .*not a list`));
  await usageError(all([f("missing.jsonl")]), new RegExp(`^${esc(f("missing.jsonl"))}:2: no "text" field`));
  await usageError(
    all([f("number.jsonl")]),
    new RegExp(`^${esc(f("number.jsonl"))}:1: the "text" field is a number, not a string`),
  );
  await usageError(
    all([f("null.jsonl.gz")]),
    new RegExp(`^${esc(f("null.jsonl.gz"))}:3: the "text" field is null`),
  );
  await usageError(
    all([f("missing.jsonl")], "body"),
    new RegExp(`${esc(f("missing.jsonl"))}:1: no "body" field`),
  );
});

test("data that is not gzip, or cut short, is named", async () => {
  const whole = gzipSync(jsonl([{ text: "a".repeat(10_000) }]));
  const dir = folder({
    "fake.jsonl.gz": "not gzip at all",
    "cut.txt.gz": whole.subarray(0, whole.length - 20),
  });
  await usageError(all([join(dir, "fake.jsonl.gz")]), /fake\.jsonl\.gz: not valid gzip data/);
  await usageError(all([join(dir, "cut.txt.gz")]), /cut\.txt\.gz: not valid gzip data/);
});
