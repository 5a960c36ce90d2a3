import assert from "node:assert/strict";
import { test } from "node:test";
import { builtinTemplate } from "../../../src/tokenizer/builtinTemplates.js";
import { loadTokenizer } from "../../../src/tokenizer/loadTokenizer.js";
import { stageChatTokenizer } from "../../../src/tokenizer/stageChatTokenizer.js";
import { encodeChat, encodeText } from "../../../src/train/sft/encodeExample.js";
import { fixture, tempDir } from "../../helpers.js";

const root = tempDir();
const model = await fixture(root, { family: "llama", layers: 1, dtype: "F32" });
// The fixture's tokenizer is byte-level with no merges: token id = byte value, specials from 256.
const bytes = (s: string) => [...Buffer.from(s)];
const staged = await stageChatTokenizer(model, await loadTokenizer(model), {
  format: builtinTemplate("chatml"),
  addTokens: true,
});
const tok = staged.tokenizer;
const [start, end] = [tok.tokenToId("<|im_start|>")!, tok.tokenToId("<|im_end|>")!];
const chat = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "hi" },
  { role: "assistant", content: "yo" },
  { role: "user", content: "ok?" },
  { role: "assistant", content: "no" },
];
const trainedIds = (e: { tokens: number[]; trained: Uint8Array }) => e.tokens.filter((_, i) => e.trained[i]);

test("chatml, two turns: exactly the assistant tokens and each <|im_end|> carry loss", () => {
  assert.deepEqual(
    staged.added.map((a) => a.id),
    [259, 260],
  );
  const e = encodeChat(tok, { messages: chat });
  assert.equal(
    tok.decode(e.tokens),
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n" +
      "<|im_start|>user\nok?<|im_end|>\n<|im_start|>assistant\nno<|im_end|>\n",
  );
  assert.deepEqual(trainedIds(e), [...bytes("yo"), end, ...bytes("no"), end]);
  // The newline after each <|im_end|> belongs to the next turn's scaffolding: no loss.
  const i = e.tokens.indexOf(end, e.tokens.indexOf(bytes("y")[0]!));
  assert.equal(e.tokens[i + 1], 10);
  assert.equal(e.trained[i + 1], 0);
  assert.equal(e.tokens[0], start);
});

test("--last-turn-only, --train-on-prompt and a prompt-completion record's few-shot turns", () => {
  assert.deepEqual(trainedIds(encodeChat(tok, { messages: chat }, { lastTurnOnly: true })), [
    ...bytes("no"),
    end,
  ]);
  const all = encodeChat(tok, { messages: chat }, { trainOnPrompt: true });
  assert.equal(
    all.trained.reduce((a, b) => a + b, 0),
    all.tokens.length - 1,
  );
  // The completion starts at message 4: the first assistant answer is part of the prompt.
  assert.deepEqual(trainedIds(encodeChat(tok, { messages: chat, trainFrom: 4 })), [...bytes("no"), end]);
});

test("messages after the last answer are left out; a conversation without an answer is refused", () => {
  const e = encodeChat(tok, { messages: [...chat, { role: "user", content: "and?" }] });
  assert.deepEqual(e.tokens, encodeChat(tok, { messages: chat }).tokens);
  assert.throws(() => encodeChat(tok, { messages: chat.slice(0, 2) }), /no assistant message/);
});

test("the model's own template: the answer runs to the EOS that closes it", async () => {
  // The fixture's template: "<s>role\ncontent</s>\n" per message.
  const own = await loadTokenizer(model);
  const e = encodeChat(own, { messages: chat.slice(1, 3) });
  assert.deepEqual(trainedIds(e), [...bytes("yo"), own.tokenToId("</s>")!]);
});

test("plain text trains every token after the first, and ends with the tokenizer's EOS (as TRL appends it)", () => {
  const e = encodeText(tok, "abc");
  assert.deepEqual(e.tokens.slice(-4), [...bytes("abc"), tok.tokenToId("<|im_end|>")]);
  assert.equal(e.trained[0], 0);
  assert.ok(e.trained.slice(1).every((t) => t === 1));
});
