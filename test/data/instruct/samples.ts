// Records of every shape and the examples they must read as, shared by the instruction-data tests,
// and small writers for the files that carry them.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import assert from "node:assert/strict";
import type { InstructionExample, InstructionFormat } from "../../../src/data/instruct/formats.js";
import { readInstructionExamples, type InstructionReadOptions } from "../../../src/data/instruct/read.js";
import { UsageError } from "../../../src/errors.js";
import type { ChatMessage } from "../../../src/tokenizer/chatTemplate.js";

/** Every example `paths` read as, in order. */
export async function read(
  paths: string[],
  opts: InstructionReadOptions = {},
): Promise<InstructionExample[]> {
  const out: InstructionExample[] = [];
  for await (const e of readInstructionExamples(paths, opts)) out.push(e);
  return out;
}

/** The messages of a chat example or the text of a text example. */
export const content = (e: InstructionExample) => (e.kind === "chat" ? e.messages : e.text);

/** Asserts that `p` rejects with a one-line UsageError matching `pattern`. */
export async function usageError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UsageError, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    return true;
  });
}

export const sys = (content: string): ChatMessage => ({ role: "system", content });
export const user = (content: string): ChatMessage => ({ role: "user", content });
export const bot = (content: string): ChatMessage => ({ role: "assistant", content });

export interface Sample {
  format: InstructionFormat;
  records: Record<string, unknown>[];
  /** Per record: the chat messages, or the text of a text record. */
  expected: (ChatMessage[] | string)[];
}

export const SAMPLES: Record<string, Sample> = {
  messages: {
    format: "messages",
    records: [
      { messages: [user("Hi"), bot("Hello!"), user("2+2?"), bot("4")], level: 3 },
      { messages: [sys("Be brief."), user("Capital of France?"), bot("Paris.")], answer: "Paris" },
    ],
    expected: [
      [user("Hi"), bot("Hello!"), user("2+2?"), bot("4")],
      [sys("Be brief."), user("Capital of France?"), bot("Paris.")],
    ],
  },
  sharegpt: {
    format: "sharegpt",
    records: [
      {
        conversations: [
          { from: "system", value: "You are kind." },
          { from: "human", value: "Hey" },
          { from: "gpt", value: "Hi there" },
          { from: "human", value: "Bye" },
          { from: "gpt", value: "Bye!" },
        ],
      },
      {
        conversations: [
          { from: "user", value: "Q" },
          { from: "assistant", value: "A" },
        ],
      },
    ],
    expected: [
      [sys("You are kind."), user("Hey"), bot("Hi there"), user("Bye"), bot("Bye!")],
      [user("Q"), bot("A")],
    ],
  },
  alpaca: {
    format: "alpaca",
    records: [
      { instruction: "Translate to French.", input: "cat", output: "chat" },
      { instruction: "Name a colour.", input: "", output: "Blue" },
      { instruction: "Say hi.", output: "Hi" },
    ],
    expected: [
      [user("Translate to French.\n\ncat"), bot("chat")],
      [user("Name a colour."), bot("Blue")],
      [user("Say hi."), bot("Hi")],
    ],
  },
  "prompt-completion": {
    format: "prompt-completion",
    records: [
      { prompt: "The sky is", completion: " blue." },
      { prompt: [sys("S"), user("Color of grass?")], completion: [bot("Green.")] },
    ],
    expected: [
      [user("The sky is"), bot(" blue.")],
      [sys("S"), user("Color of grass?"), bot("Green.")],
    ],
  },
  openorca: {
    format: "openorca",
    records: [
      { id: "a.1", system_prompt: "You are an AI.", question: "Why?", response: "Because." },
      { id: "a.2", system_prompt: "", question: "What?", response: "That." },
    ],
    expected: [
      [sys("You are an AI."), user("Why?"), bot("Because.")],
      [user("What?"), bot("That.")],
    ],
  },
  text: {
    format: "text",
    records: [{ text: "<|user|>hi<|assistant|>hello" }, { text: "plain text trained whole" }],
    expected: ["<|user|>hi<|assistant|>hello", "plain text trained whole"],
  },
};

const file = (path: string, content: string | Buffer) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
};

export const jsonl = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

export const writeJsonl = (dir: string, name: string, rows: readonly unknown[]) =>
  file(join(dir, name), jsonl(rows));

export const writeJsonArray = (dir: string, name: string, rows: readonly unknown[]) =>
  file(join(dir, name), JSON.stringify(rows, null, 2));

export const writeGzip = (dir: string, name: string, content: string) =>
  file(join(dir, name), gzipSync(content));

export const writeText = (dir: string, name: string, content: string | Buffer) =>
  file(join(dir, name), content);
