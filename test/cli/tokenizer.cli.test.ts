import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { runCli, tempDir } from "../helpers.js";

const root = tempDir("deepen-tokcli-");
const data = join(root, "data");
mkdirSync(data);
const text =
  "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.\n";
writeFileSync(join(data, "a.txt"), text.repeat(3));
writeFileSync(join(data, "b.txt"), "Call me Ishmael. Some years ago, never mind how long precisely.\n");
writeFileSync(join(data, "a.json"), '{"not": "prose"}');

/** One line on stderr, naming what is wrong. */
function oneLineError(r: { code: number; stderr: string }, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
}

test("tokenizer train writes a loadable tokenizer and prints its summary as JSON", async () => {
  const out = join(root, "tok");
  const r = runCli(["tokenizer", "train", data, "--ext", "txt", "--vocab", "300", "-o", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.vocab_size, 300);
  assert.equal(j.requested_vocab_size, 300);
  assert.equal(j.merges, 300 - 259);
  assert.equal(j.input_files, 2);
  assert.deepEqual(j.special_tokens.bos, { token: "<|bos|>", id: 0 });
  assert.deepEqual(j.special_tokens.eos, { token: "<|eos|>", id: 1 });
  // The folder's a.json is not text of the kind --ext txt reads: skipped, and said so.
  assert.deepEqual(j.warnings, [
    `skipped 1 file not ending in .txt (or .gz of those; --ext chooses): ${join(data, "a.json")}`,
  ]);
  assert.equal(r.stderr, "");
  const tok = await loadTokenizer(out);
  assert.equal(tok.vocabSize, 300);
  assert.equal(tok.decode(tok.encode(text).slice(1)), text);

  // Plain output names the figures; an existing output needs --force and is left untouched.
  const before = readFileSync(join(out, "tokenizer.json"));
  const again = runCli(["tokenizer", "train", join(data, "b.txt"), "--vocab", "270", "-o", out]);
  oneLineError(again, 1, /exists; pass --force/);
  assert.deepEqual(readFileSync(join(out, "tokenizer.json")), before);
  const forced = runCli(["tokenizer", "train", join(data, "b.txt"), "--vocab", "4096", "-o", out, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /learned \d+ merges/);
  assert.match(forced.stdout, /note: only \d+ merges had a pair seen at least --min-frequency 2 times/);
  assert.match(forced.stdout, /<\|bos\|> 0 \(added before each text\), <\|eos\|> 1, <\|pad\|> 2/);
  assert.notDeepEqual(readFileSync(join(out, "tokenizer.json")), before);
});

test("bad options and inputs are one-line errors with the usage status", () => {
  const out = join(root, "never");
  oneLineError(
    runCli(["tokenizer", "train", data, "--ext", "txt", "--vocab", "258", "-o", out]),
    2,
    /--vocab 258 is too small.*at least 259/,
  );
  oneLineError(
    runCli(["tokenizer", "train", data, "--ext", "txt", "--vocab", "4k", "-o", out]),
    2,
    /--vocab 4k/,
  );
  oneLineError(runCli(["tokenizer", "train", data, "--vocab", "300"]), 2, /--out/);
  oneLineError(
    runCli(["tokenizer", "train", join(data, "a.json"), "-o", out]),
    2,
    /a\.json: \.json is ambiguous/,
  );
  oneLineError(
    runCli(["tokenizer", "train", data, "--ext", "json", "-o", out]),
    2,
    /a\.json: \.json is ambiguous/,
  );
  oneLineError(
    runCli(["tokenizer", "train", join(root, "missing.txt"), "-o", out]),
    2,
    /missing\.txt: no such file/,
  );
  const empty = join(root, "empty.txt");
  writeFileSync(empty, "");
  oneLineError(runCli(["tokenizer", "train", empty, "-o", out]), 2, /no text in/);
  assert.ok(!readdirSync(root).includes("never"));
  assert.ok(!readdirSync(root).some((f) => f.startsWith(".")), "no temporary folder left behind");
});
