// One record of a known shape → one normalised example. Throws BadRecord naming the field at fault.

import type { ChatMessage } from "../../tokenizer/chatTemplate.js";
import { BadRecord } from "./badRecord.js";
import { field, optionalString, stringField, turn, type Fields } from "./fields.js";
import type { InstructionExample, InstructionFormat } from "./formats.js";
import { finishChat, readMessages } from "./messages.js";

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
  const prompt = turn(record, "prompt", "user", "prompt-completion");
  const completion = turn(record, "completion", "assistant", "prompt-completion");
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
