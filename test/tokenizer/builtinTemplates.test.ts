// The expected strings below are written out by hand from each family's published template and model
// card (not produced by the templates under test): a byte of difference from the family's format is a
// failure here.

import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/errors.js";
import {
  BUILTIN_TEMPLATES,
  builtinChatTemplate,
  builtinTemplate,
  templateTokens,
} from "../../src/tokenizer/builtinTemplates.js";
import type { ChatMessage } from "../../src/tokenizer/chatTemplate.js";

const SYSTEM: ChatMessage = { role: "system", content: "You are terse." };
/** Two exchanges; the second carries surrounding whitespace, which Llama 2, Llama 3 and Gemma strip and
 * the others keep. */
const TURNS: ChatMessage[] = [
  { role: "user", content: "What is the capital of France?" },
  { role: "assistant", content: "Paris." },
  { role: "user", content: " And of Italy? " },
  { role: "assistant", content: "Rome.\n" },
];
const WITH_SYSTEM = [SYSTEM, ...TURNS];
/** Up to the last user turn: what a generation prompt follows. */
const prompt = (messages: ChatMessage[]) => messages.slice(0, -1);

const LLAMA = { bos_token: "<s>", eos_token: "</s>" };
const ALTERNATE = "Conversation roles must alternate user/assistant/user/assistant/...";

interface Case {
  tokens: Record<string, string>;
  messages: ChatMessage[];
  full: string;
  generation: string;
}

const CASES: Record<string, Case> = {
  chatml: {
    tokens: LLAMA,
    messages: WITH_SYSTEM,
    full:
      "<|im_start|>system\nYou are terse.<|im_end|>\n" +
      "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n" +
      "<|im_start|>assistant\nParis.<|im_end|>\n" +
      "<|im_start|>user\n And of Italy? <|im_end|>\n" +
      "<|im_start|>assistant\nRome.\n<|im_end|>\n",
    generation:
      "<|im_start|>system\nYou are terse.<|im_end|>\n" +
      "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n" +
      "<|im_start|>assistant\nParis.<|im_end|>\n" +
      "<|im_start|>user\n And of Italy? <|im_end|>\n" +
      "<|im_start|>assistant\n",
  },
  llama2: {
    tokens: LLAMA,
    messages: WITH_SYSTEM,
    full:
      "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is the capital of France? [/INST] Paris. </s>" +
      "<s>[INST] And of Italy? [/INST] Rome. </s>",
    // Llama 2's template has no generation prompt: the answer's leading space is the answer's.
    generation:
      "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is the capital of France? [/INST] Paris. </s>" +
      "<s>[INST] And of Italy? [/INST]",
  },
  llama3: {
    tokens: { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" },
    messages: WITH_SYSTEM,
    full:
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
      "<|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>" +
      "<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|>" +
      "<|start_header_id|>user<|end_header_id|>\n\nAnd of Italy?<|eot_id|>" +
      "<|start_header_id|>assistant<|end_header_id|>\n\nRome.<|eot_id|>",
    generation:
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
      "<|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>" +
      "<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|>" +
      "<|start_header_id|>user<|end_header_id|>\n\nAnd of Italy?<|eot_id|>" +
      "<|start_header_id|>assistant<|end_header_id|>\n\n",
  },
  // Mistral v0.2 refuses a system message (tested below): the conversation without it.
  mistral: {
    tokens: LLAMA,
    messages: TURNS,
    full: "<s>[INST] What is the capital of France? [/INST]Paris.</s>[INST]  And of Italy?  [/INST]Rome.\n</s>",
    generation: "<s>[INST] What is the capital of France? [/INST]Paris.</s>[INST]  And of Italy?  [/INST]",
  },
  zephyr: {
    tokens: LLAMA,
    messages: WITH_SYSTEM,
    full:
      "<|system|>\nYou are terse.</s>\n" +
      "<|user|>\nWhat is the capital of France?</s>\n" +
      "<|assistant|>\nParis.</s>\n" +
      "<|user|>\n And of Italy? </s>\n" +
      "<|assistant|>\nRome.\n</s>\n",
    generation:
      "<|system|>\nYou are terse.</s>\n" +
      "<|user|>\nWhat is the capital of France?</s>\n" +
      "<|assistant|>\nParis.</s>\n" +
      "<|user|>\n And of Italy? </s>\n" +
      "<|assistant|>\n",
  },
  // Gemma 1/2 refuse a system message (tested below): the conversation without it.
  gemma: {
    tokens: { bos_token: "<bos>", eos_token: "<eos>" },
    messages: TURNS,
    full:
      "<bos><start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n" +
      "<start_of_turn>model\nParis.<end_of_turn>\n" +
      "<start_of_turn>user\nAnd of Italy?<end_of_turn>\n" +
      "<start_of_turn>model\nRome.<end_of_turn>\n",
    generation:
      "<bos><start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n" +
      "<start_of_turn>model\nParis.<end_of_turn>\n" +
      "<start_of_turn>user\nAnd of Italy?<end_of_turn>\n" +
      "<start_of_turn>model\n",
  },
  phi3: {
    tokens: { bos_token: "<s>", eos_token: "<|endoftext|>" },
    messages: WITH_SYSTEM,
    // Without a generation prompt the template ends the text with eos_token.
    full:
      "<|system|>\nYou are terse.<|end|>\n" +
      "<|user|>\nWhat is the capital of France?<|end|>\n" +
      "<|assistant|>\nParis.<|end|>\n" +
      "<|user|>\n And of Italy? <|end|>\n" +
      "<|assistant|>\nRome.\n<|end|>\n<|endoftext|>",
    generation:
      "<|system|>\nYou are terse.<|end|>\n" +
      "<|user|>\nWhat is the capital of France?<|end|>\n" +
      "<|assistant|>\nParis.<|end|>\n" +
      "<|user|>\n And of Italy? <|end|>\n" +
      "<|assistant|>\n",
  },
  alpaca: {
    tokens: LLAMA,
    messages: WITH_SYSTEM,
    full:
      "You are terse.\n\n### Instruction:\nWhat is the capital of France?\n\n### Response:\nParis.</s>" +
      "\n\n### Instruction:\n And of Italy? \n\n### Response:\nRome.\n</s>",
    generation:
      "You are terse.\n\n### Instruction:\nWhat is the capital of France?\n\n### Response:\nParis.</s>" +
      "\n\n### Instruction:\n And of Italy? \n\n### Response:\n",
  },
};

const render = (name: string, tokens: Record<string, string>, messages: ChatMessage[], generation = false) =>
  builtinChatTemplate(name, tokens).render(messages, generation);

/** What a refusal reads like once ChatTemplate has wrapped it: a usage error naming the template. */
const refusal = (name: string, message: string) => (e: unknown) =>
  e instanceof UsageError &&
  e.message === `the chat template in the built-in template "${name}" failed on these messages: ${message}`;

test("every built-in template has a case here, and every case a template", () => {
  assert.deepEqual(Object.keys(BUILTIN_TEMPLATES).sort(), Object.keys(CASES).sort());
  for (const [name, t] of Object.entries(BUILTIN_TEMPLATES)) assert.equal(t.name, name);
});

for (const [name, c] of Object.entries(CASES)) {
  test(`${name}: a whole conversation and a generation prompt render as the family's template does`, () => {
    assert.equal(render(name, c.tokens, c.messages), c.full);
    assert.equal(render(name, c.tokens, prompt(c.messages), true), c.generation);
  });

  test(`${name}: the prompt with its generation prompt is a prefix of the whole conversation`, () => {
    // What assistant-only loss masking relies on: the answer's tokens are what follows the prompt.
    const whole = render(name, c.tokens, c.messages);
    assert.ok(whole.startsWith(render(name, c.tokens, prompt(c.messages), true)));
  });

  test(`${name}: the chat tokens and the end of turn are in the text it renders`, () => {
    const t = builtinTemplate(name);
    const whole = render(name, c.tokens, c.messages);
    for (const token of t.chatTokens) assert.ok(whole.includes(token), `${token} missing`);
    const end = t.endOfTurn === "eos" ? c.tokens.eos_token! : t.endOfTurn;
    // Every assistant turn is closed by it.
    const answers = c.messages.filter((m) => m.role === "assistant").length;
    assert.ok(whole.split(end).length - 1 >= answers, `${end} closes fewer than ${answers} answers`);
  });
}

test("mistral (v0.2) refuses a system message with the alternation error, as its template does", () => {
  assert.throws(() => render("mistral", LLAMA, WITH_SYSTEM), refusal("mistral", ALTERNATE));
  assert.throws(
    () => render("mistral", LLAMA, [TURNS[0]!, { role: "tool", content: "42" }]),
    refusal("mistral", "Only user and assistant roles are supported!"),
  );
});

test("gemma refuses a system message, as Gemma 1 and 2 do", () => {
  assert.throws(() => render("gemma", LLAMA, WITH_SYSTEM), refusal("gemma", "System role not supported"));
});

test("llama2, mistral, gemma and alpaca refuse roles out of order with the families' message", () => {
  const twoUsers: ChatMessage[] = [TURNS[0]!, TURNS[2]!];
  const assistantFirst: ChatMessage[] = [TURNS[1]!, TURNS[0]!];
  for (const name of ["llama2", "mistral", "gemma", "alpaca"]) {
    assert.throws(() => render(name, LLAMA, twoUsers), refusal(name, ALTERNATE), name);
    assert.throws(() => render(name, LLAMA, assistantFirst), refusal(name, ALTERNATE), name);
  }
  // After Llama 2's optional system message, alternation starts again with the user.
  assert.throws(() => render("llama2", LLAMA, [SYSTEM, TURNS[1]!]), refusal("llama2", ALTERNATE));
  // Alpaca takes a system message first only.
  assert.throws(() => render("alpaca", LLAMA, [TURNS[0]!, SYSTEM]), refusal("alpaca", ALTERNATE));
});

test("llama2 without a system message opens plain [INST] turns", () => {
  assert.equal(
    render("llama2", LLAMA, TURNS),
    "<s>[INST] What is the capital of France? [/INST] Paris. </s><s>[INST] And of Italy? [/INST] Rome. </s>",
  );
});

test("llama2 keeps an empty system message's block, as transformers renders it", () => {
  assert.equal(
    render("llama2", LLAMA, [{ role: "system", content: "" }, TURNS[0]!]),
    "<s>[INST] <<SYS>>\n\n<</SYS>>\n\nWhat is the capital of France? [/INST]",
  );
});

test("alpaca: one exchange is the Stanford prompt without input, then the output and EOS", () => {
  const stanford =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
    "### Instruction:\nName a primary colour.\n\n### Response:\n";
  const exchange: ChatMessage[] = [
    { role: "user", content: "Name a primary colour." },
    { role: "assistant", content: "Red." },
  ];
  assert.equal(render("alpaca", LLAMA, exchange.slice(0, 1), true), stanford);
  assert.equal(render("alpaca", LLAMA, exchange), stanford + "Red.</s>");
});

test("the model's own BOS and EOS are rendered, not the family's", () => {
  // A base model whose BOS is <s> gets <s> where the Llama-3 and Gemma templates put bos_token.
  assert.ok(render("llama3", LLAMA, TURNS).startsWith("<s><|start_header_id|>user<|end_header_id|>"));
  assert.ok(render("gemma", LLAMA, TURNS).startsWith("<s><start_of_turn>user\n"));
  assert.ok(render("phi3", LLAMA, TURNS).endsWith("<|end|>\n</s>"));
});

test("a tokenizer without BOS or EOS gets the family's own values", () => {
  assert.ok(render("llama3", {}, TURNS).startsWith("<|begin_of_text|><|start_header_id|>"));
  assert.ok(render("gemma", {}, TURNS).startsWith("<bos><start_of_turn>"));
  assert.ok(render("phi3", {}, TURNS).endsWith("<|end|>\n<|endoftext|>"));
  assert.equal(
    render("mistral", {}, TURNS.slice(0, 2)),
    "<s>[INST] What is the capital of France? [/INST]Paris.</s>",
  );

  assert.deepEqual(templateTokens(builtinTemplate("llama2"), { eos_token: "<|eos|>", pad_token: "<pad>" }), {
    tokens: { bos_token: "<s>", eos_token: "<|eos|>", pad_token: "<pad>" },
    filled: ["bos_token"],
  });
  assert.deepEqual(templateTokens(builtinTemplate("chatml"), {}), { tokens: {}, filled: [] });
});

test("an unknown template name is a usage error listing the built-in names", () => {
  assert.throws(
    () => builtinTemplate("vicuna"),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message ===
        'unknown chat template "vicuna"; built-in templates: chatml, llama2, llama3, mistral, zephyr, gemma, phi3, alpaca',
  );
  // Names are own keys only: nothing inherited from Object.prototype passes for a template.
  assert.throws(() => builtinTemplate("toString"), UsageError);
  assert.throws(() => builtinChatTemplate("constructor", LLAMA), UsageError);
});
