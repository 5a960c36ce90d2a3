// Reading one field of a record, for the shape converters: each throws BadRecord naming the field and
// what it holds instead, and the reader adds which record it was.

import type { ChatMessage } from "../../tokenizer/chatTemplate.js";
import { describe } from "../corpus.js";
import { BadRecord } from "./badRecord.js";
import { readMessages } from "./messages.js";

/** A record as read: a JSON object or a Parquet row. */
export type Fields = Record<string, unknown>;

/** A field that must be present; `format` names the shape that needs it. */
export function field(record: Fields, name: string, format: string): unknown {
  if (!(name in record)) throw new BadRecord(`no "${name}" field (needed by the ${format} shape)`);
  return record[name];
}

export function stringField(record: Fields, name: string, format: string): string {
  const v = field(record, name, format);
  if (typeof v !== "string") throw new BadRecord(`the "${name}" field is ${describe(v)}, not a string`);
  return v;
}

/** A field that may be absent, null or a string; absent and null read as "". */
export function optionalString(record: Fields, name: string): string {
  const v = record[name];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new BadRecord(`the "${name}" field is ${describe(v)}, not a string`);
  return v;
}

/** A turn: a string (one message of `role`) or a list of messages (TRL's conversational form). */
export function turn(record: Fields, name: string, role: string, format: string): ChatMessage[] {
  const v = field(record, name, format);
  if (typeof v === "string") return [{ role, content: v }];
  if (Array.isArray(v)) return readMessages(v, name);
  throw new BadRecord(`the "${name}" field is ${describe(v)}, not a string or a list of messages`);
}
