// One record of a known preference shape → one pair of prompt, chosen and rejected messages. Throws
// BadRecord naming the field at fault. What DPO needs of a pair is checked here, so that a bad record
// is named at reading rather than found as a wrong loss: a prompt ending in the user's turn, and two
// responses that each end in a non-empty assistant message.

import type { ChatMessage } from "../../tokenizer/chatTemplate.js";
import { BadRecord } from "./badRecord.js";
import { field, optionalString, stringField, turn, type Fields } from "./fields.js";
import { readMessages } from "./messages.js";
import type { PreferenceFormat, PreferencePair } from "./preferenceFormats.js";

type Pair = Pick<PreferencePair, "prompt" | "chosen" | "rejected">;

/** Whether two message lists are the same, message for message. */
export function sameMessages(a: readonly ChatMessage[], b: readonly ChatMessage[]): boolean {
  return a.length === b.length && a.every((m, i) => m.role === b[i]?.role && m.content === b[i]?.content);
}

/** "a user message", "an assistant message" (the roles are system, user and assistant). */
const aRole = (role: string) => `${role === "assistant" ? "an" : "a"} ${role} message`;

/** The prompt must leave the model to answer the user: a user message last (so, at least one). */
function checkPrompt(prompt: readonly ChatMessage[]): void {
  if (!prompt.some((m) => m.role === "user")) throw new BadRecord("the prompt has no user message");
  const last = prompt[prompt.length - 1]!;
  if (last.role !== "user")
    throw new BadRecord(`the prompt ends with ${aRole(last.role)}, not a user message`);
}

/** A response is what DPO scores: its last message is the assistant's, with something in it. */
function checkResponse(response: readonly ChatMessage[], name: "chosen" | "rejected"): void {
  const last = response[response.length - 1];
  if (last === undefined) throw new BadRecord(`the ${name} response has no messages`);
  if (last.role !== "assistant")
    throw new BadRecord(`the ${name} response ends with ${aRole(last.role)}, not an assistant message`);
  if (last.content.trim() === "") throw new BadRecord(`the ${name} response is empty`);
}

/**
 * Two whole conversations: all but the last message of each is the prompt, and must be the same in
 * both (a pair compares two answers to one context; ultrafeedback's conversations are one user
 * message and one answer each, multi-turn sets differ only in the final answer).
 */
function conversationsPair(record: Fields): Pair {
  const chosen = readMessages(field(record, "chosen", "conversations-pair"), "chosen");
  const rejected = readMessages(field(record, "rejected", "conversations-pair"), "rejected");
  if (chosen.length === 0) throw new BadRecord('the "chosen" conversation has no messages');
  if (rejected.length === 0) throw new BadRecord('the "rejected" conversation has no messages');
  const prompt = chosen.slice(0, -1);
  if (!sameMessages(prompt, rejected.slice(0, -1)))
    throw new BadRecord("chosen and rejected have different prompts");
  return { prompt, chosen: chosen.slice(-1), rejected: rejected.slice(-1) };
}

function pairOf(record: Fields, format: PreferenceFormat): Pair {
  switch (format) {
    case "preference":
      return {
        prompt: turn(record, "prompt", "user", format),
        chosen: turn(record, "chosen", "assistant", format),
        rejected: turn(record, "rejected", "assistant", format),
      };
    case "conversations-pair":
      return conversationsPair(record);
    case "orca-pairs": {
      // Orca's system prompts are often empty; an empty one is no system message, as for OpenOrca.
      const system = optionalString(record, "system");
      const question = stringField(record, "question", format);
      return {
        prompt: [
          ...(system === "" ? [] : [{ role: "system", content: system }]),
          { role: "user", content: question },
        ],
        chosen: [{ role: "assistant", content: stringField(record, "chosen", format) }],
        rejected: [{ role: "assistant", content: stringField(record, "rejected", format) }],
      };
    }
  }
}

/** The pair a record of shape `format` holds. Chosen equal to rejected is not checked here. */
export function toPreferencePair(record: Fields, format: PreferenceFormat, where: string): PreferencePair {
  const pair = pairOf(record, format);
  checkResponse(pair.chosen, "chosen");
  checkResponse(pair.rejected, "rejected");
  checkPrompt(pair.prompt);
  return { ...pair, where, record };
}
