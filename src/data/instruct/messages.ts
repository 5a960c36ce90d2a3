// Chat message lists as datasets write them, checked and normalised to {role, content}.

import type { ChatMessage } from "../../tokenizer/chatTemplate.js";
import { describe } from "../corpus.js";
import { BadRecord } from "./badRecord.js";

/**
 * Role names as written → the role chat templates expect. ShareGPT writes `human` and `gpt`; some of
 * its conversions already write `user` and `assistant`. Anything else (`tool`, `function_call`,
 * `bing`…) is refused rather than guessed: a template would render it wrongly or raise.
 */
const ROLES: ReadonlyMap<string, string> = new Map([
  ["system", "system"],
  ["user", "user"],
  ["assistant", "assistant"],
  ["human", "user"],
  ["gpt", "assistant"],
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The messages of a list field. Each message is `{role, content}` (OpenAI and TRL) or `{from, value}`
 * (ShareGPT); both spellings are accepted in either field, since datasets mix them (`conversations`
 * lists with `role`/`content` are common). Other keys of a message (`name`, `weight`…) are dropped.
 */
export function readMessages(value: unknown, field: string): ChatMessage[] {
  if (!Array.isArray(value)) throw new BadRecord(`the "${field}" field is ${describe(value)}, not a list`);
  return value.map((m: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(m)) throw new BadRecord(`${at} is ${describe(m)}, not a message object`);
    const roleKey = "role" in m ? "role" : "from";
    const contentKey = "content" in m ? "content" : "value";
    const role = m[roleKey];
    const content = m[contentKey];
    if (typeof role !== "string")
      throw new BadRecord(`${at} has no string "role" (or "from"): it is ${describe(role)}`);
    if (typeof content !== "string")
      throw new BadRecord(`${at} has no string "content" (or "value"): it is ${describe(content)}`);
    const mapped = ROLES.get(role);
    if (mapped === undefined)
      throw new BadRecord(`${at}: unknown role "${role}" (accepted: ${[...ROLES.keys()].join(", ")})`);
    return { role: mapped, content };
  });
}

/**
 * A chat ready to train on: at least one assistant turn (the only tokens SFT learns from), and
 * nothing after the last one. Messages after the last assistant turn are dropped: TRL and axolotl
 * render them but mask them from the loss, and under causal attention no earlier token sees them,
 * so they would change no trained token's loss and only cost sequence length.
 */
export function finishChat(messages: ChatMessage[]): ChatMessage[] {
  let last = messages.length - 1;
  while (last >= 0 && messages[last]?.role !== "assistant") last--;
  if (last < 0) throw new BadRecord("no assistant turn, so nothing to train on");
  return last === messages.length - 1 ? messages : messages.slice(0, last + 1);
}
