// The record shapes instruction datasets come in, and telling them apart by their field names.

import type { ChatMessage } from "../../tokenizer/chatTemplate.js";
import { UsageError } from "../../errors.js";

/** One example, normalised: a chat to render with the model's template, or a text trained whole. */
export type InstructionExample =
  | {
      kind: "chat";
      messages: ChatMessage[];
      /** Where it came from: `path:LINE` (1-based), `path[INDEX]` (0-based) or `path row N` (0-based). */
      where: string;
      /** The record as read, for fields a caller wants beyond the chat (`answer`, `level`…). */
      record: Record<string, unknown>;
      /** For a prompt-completion record only: the index in `messages` where the completion starts.
       * TRL trains the completion alone, so an assistant turn before this index (a few-shot prompt)
       * is context, not a target. */
      completionStart?: number;
    }
  | { kind: "text"; text: string; where: string; record: Record<string, unknown> };

/** The record shapes, by the names `--format` takes. */
export const INSTRUCTION_FORMATS = [
  "messages",
  "sharegpt",
  "alpaca",
  "prompt-completion",
  "openorca",
  "text",
] as const;

export type InstructionFormat = (typeof INSTRUCTION_FORMATS)[number];

/**
 * The fields each shape needs, in the order detection tries them: chat shapes first, because
 * datasets often carry a `prompt` or `text` column beside their `messages` (ultrachat_200k has
 * `prompt` and `messages`), and `text` last, as the shape of last resort.
 */
export const REQUIRED_FIELDS: readonly { format: InstructionFormat; fields: readonly string[] }[] = [
  { format: "messages", fields: ["messages"] },
  { format: "sharegpt", fields: ["conversations"] },
  { format: "prompt-completion", fields: ["prompt", "completion"] },
  { format: "alpaca", fields: ["instruction", "output"] },
  { format: "openorca", fields: ["question", "response"] },
  { format: "text", fields: ["text"] },
];

/** The shape a record (or a Parquet file's columns) with these field names has, if any. */
export function detectFormat(fields: readonly string[]): InstructionFormat | undefined {
  const have = new Set(fields);
  return REQUIRED_FIELDS.find((r) => r.fields.every((f) => have.has(f)))?.format;
}

/** A field list for an error message, shortened: a record may have hundreds of columns. */
export function fieldList(fields: readonly string[]): string {
  if (fields.length === 0) return "none";
  const shown = fields.slice(0, 20).join(", ");
  return fields.length > 20 ? `${shown}, … (${fields.length} in all)` : shown;
}

/** A --format value checked: UsageError naming the accepted ones otherwise. */
export function parseInstructionFormat(value: string): InstructionFormat {
  const found = INSTRUCTION_FORMATS.find((f) => f === value);
  if (found === undefined)
    throw new UsageError(
      `--format: "${value}" is not a record shape; use one of ${INSTRUCTION_FORMATS.join(", ")}`,
    );
  return found;
}
