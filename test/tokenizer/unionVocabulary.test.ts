import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { outputVocabulary } from "../../src/tokenizer/unionVocabulary.js";
import { readVocabulary, withinRows } from "../../src/tokenizer/vocabulary.js";
import { tempDir } from "../helpers.js";

const root = tempDir();
let n = 0;
function folder(model: unknown, added: { id: number; content: string; special: boolean }[] = []): string {
  const dir = join(root, `tok-${n++}`);
  mkdirSync(dir);
  const entries = added.map((t) => ({
    ...t,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
  }));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ model, added_tokens: entries }));
  return dir;
}
const wordLevel = (words: string[]) => ({
  type: "WordLevel",
  vocab: Object.fromEntries(words.map((w, i) => [w, i])),
  unk_token: words[0],
});

test("union order: the first vocabulary's ids, others' ordinary tokens by id, then added tokens with their own flags", async () => {
  const first = await readVocabulary(
    folder(wordLevel(["<unk>", "cat", "dog", "<eos>"]), [{ id: 3, content: "<eos>", special: true }]),
  );
  // A Unigram vocabulary (pieces by position); "<eos>" ordinary here but added in the first, so it stays the first's.
  const second = await readVocabulary(
    folder(
      {
        type: "Unigram",
        unk_id: 0,
        vocab: [
          ["<unk>", 0],
          ["owl", -1],
          ["<eos>", -2],
          ["<im>", 0],
          ["ant", -3],
        ],
      },
      [{ id: 3, content: "<im>", special: true }],
    ),
  );
  const third = await readVocabulary(
    folder(wordLevel(["<unk>", "bee", "ant"]), [{ id: 2, content: "ant", special: true }]),
  );
  const out = outputVocabulary(first, [second, third], true, ["<new>", "cat"]);
  // "ant" is added in the third, so it comes after every ordinary token, with the third's flags.
  assert.deepEqual(out.tokens, ["<unk>", "cat", "dog", "<eos>", "owl", "bee", "<im>", "ant", "<new>"]);
  assert.deepEqual(
    out.appended.map((t) => [t.id, t.content, t.special, t.normalized]),
    [
      [4, "owl", false, true],
      [5, "bee", false, true],
      [6, "<im>", true, false],
      [7, "ant", true, false],
      [8, "<new>", false, true],
    ],
  );
  // Without union, only the config's new tokens are appended.
  assert.deepEqual(outputVocabulary(first, [second], false, ["cat", "<new>"]).tokens, [
    "<unk>",
    "cat",
    "dog",
    "<eos>",
    "<new>",
  ]);
});

test("tokens past a model's embedding rows are dropped; an output vocabulary with a gap is refused", async () => {
  const v = await readVocabulary(folder(wordLevel(["a", "b", "c", "d"])));
  assert.deepEqual([...withinRows(v, 2).ids.keys()], ["a", "b"]);
  const gap = await readVocabulary(folder({ type: "WordLevel", vocab: { a: 0, c: 2 }, unk_token: "a" }));
  assert.throws(() => outputVocabulary(gap, [], true, []), /assigns no token to id 1/);
});
