// One record of a known shape → one normalised example. Throws BadRecord naming the field at fault.

import type { ChatMessage } from "../../tokenizer/chatTemplate.js";
import { describe } from "../corpus.js";
import { BadRecord } from "./badRecord.js";
import type { InstructionExample, InstructionFormat } from "./formats.js";
import { finishChat, readMessages } from "./messages.js";

/** A record as read: a JSON object or a Parquet row. */
type Fields = Record<string, unknown>;

function field(record: Fields, name: string, format: InstructionFormat): unknown {
  if (!(name in record)) throw new BadRecord(`no "${name}" field (needed by the ${format} shape)`);
  return record[name];
}

function stringField(record: Fields, name: string, format: InstructionFormat): string {
  const v = field(record, name, format);
  if (typeof v !== "string") throw new BadRecord(`the "${name}" field is ${describe(v)}, not a string`);
  return v;
}

/** A field that may be absent, null or a string; absent and null read as "". */
function optionalString(record: Fields, name: string): string {
  const v = record[name];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new BadRecord(`the "${name}" field is ${describe(v)}, not a string`);
  return v;
}

/** A prompt or completion: a string (one message of `role`) or a list of messages (TRL's conversational form). */
function turn(record: Fields, name: string, role: string): ChatMessage[] {
  const v = field(record, name, "prompt-completion");
  if (typeof v === "string") return [{ role, content: v }];
  if (Array.isArray(v)) return readMessages(v, name);
  throw new BadRecord(`the "${name}" field is ${describe(v)}, not a string or a list of messages`);
}

function chatMessages(
  record: Fields,
  format: Exclude<InstructionFormat, "text" | "prompt-completion">,
): ChatMessage[] {
  switch (format) {
    case "messages":
      return readMessages(field(record, "messages", format), "messages");
    case "sharegpt":
      return readMessages(field(record, "conversations", format), "conversations");
    case "alpaca": {
      const instruction = stringField(record, "instruction", format);
      const input = optionalString(record, "input");
      const output = stringField(record, "output", format);
      // Stanford Alpaca's prompt puts the input under the instruction as a separate block, and the
      // common chat conversions of Alpaca data join them the same way: instruction, blank line, input.
      const user = input === "" ? instruction : `${instruction}\n\n${input}`;
      return [
        { role: "user", content: user },
        { role: "assistant", content: output },
      ];
    }
    case "openorca": {
      const system = optionalString(record, "system_prompt");
      const question = stringField(record, "question", format);
      const response = stringField(record, "response", format);
      return [
        ...(system === "" ? [] : [{ role: "system", content: system }]),
        { role: "user", content: question },
        { role: "assistant", content: response },
      ];
    }
  }
}

function promptCompletion(record: Fields, where: string): InstructionExample {
  const prompt = turn(record, "prompt", "user");
  const completion = turn(record, "completion", "assistant");
  if (!completion.some((m) => m.role === "assistant"))
    throw new BadRecord('the "completion" has no assistant turn, so nothing to train on');
  return {
    kind: "chat",
    messages: finishChat([...prompt, ...completion]),
    where,
    record,
    completionStart: prompt.length,
  };
}

/** The example a record of shape `format` holds. */
export function toExample(record: Fields, format: InstructionFormat, where: string): InstructionExample {
  if (format === "text") return { kind: "text", text: stringField(record, "text", format), where, record };
  if (format === "prompt-completion") return promptCompletion(record, where);
  return { kind: "chat", messages: finishChat(chatMessages(record, format)), where, record };
}
