// The record shapes preference (DPO) datasets come in, and telling them apart. Field names are not
// enough here: HuggingFaceH4/ultrafeedback_binarized has a `prompt` string beside `chosen` and
// `rejected` conversations, which by names alone looks like the prompt/chosen/rejected shape.

import type { ChatMessage } from "../../tokenizer/chatTemplate.js";
import { UsageError } from "../../errors.js";
import type { ShapeTable } from "./shapedFile.js";

/** One preference pair, normalised: a prompt and two responses to it, the first preferred. */
export interface PreferencePair {
  /** The context: ends with a user message (system messages and earlier turns may come first). */
  prompt: ChatMessage[];
  /** The preferred response: one or more messages, the last an assistant message. */
  chosen: ChatMessage[];
  /** The dispreferred response, as `chosen`. Never equal to it (such pairs are passed over). */
  rejected: ChatMessage[];
  /** Where it came from: `path:LINE` (1-based), `path[INDEX]` (0-based) or `path row N` (0-based). */
  where: string;
  /** The record as read, for fields a caller wants beyond the pair (`score_chosen`, `answer`…). */
  record: Record<string, unknown>;
}

/**
 * The record shapes, by the names `--format` takes:
 * - `preference`: `prompt`, `chosen`, `rejected`, each a string (the prompt one user message, a
 *   response one assistant message) or a list of messages (TRL's conversational form);
 * - `conversations-pair`: `chosen` and `rejected` as whole conversations that share all but their
 *   final assistant message (ultrafeedback_binarized, TRL's implicit-prompt form);
 * - `orca-pairs`: `system`, `question`, `chosen`, `rejected` strings (Intel/orca_dpo_pairs).
 */
export const PREFERENCE_FORMATS = ["preference", "conversations-pair", "orca-pairs"] as const;

export type PreferenceFormat = (typeof PREFERENCE_FORMATS)[number];

/**
 * A record's shape: `prompt` beside chosen/rejected makes it `preference`, unless the prompt is not a
 * list while `chosen` is one, which is ultrafeedback's layout (its `prompt` string repeats the first
 * user message of each conversation). `question` makes it Orca's; chosen/rejected alone, conversations.
 */
function detect(record: Record<string, unknown>): PreferenceFormat | undefined {
  if (!("chosen" in record && "rejected" in record)) return undefined;
  const conversations = Array.isArray(record.chosen) && !Array.isArray(record.prompt);
  if ("prompt" in record && !conversations) return "preference";
  if ("question" in record && !conversations) return "orca-pairs";
  return "conversations-pair";
}

export const PREFERENCE_SHAPES: ShapeTable<PreferenceFormat> = {
  shapes: [
    { format: "preference", fields: ["prompt", "chosen", "rejected"] },
    { format: "conversations-pair", fields: ["chosen", "rejected"] },
    { format: "orca-pairs", fields: ["question", "chosen", "rejected"] },
  ],
  detect,
};

/** The shape a record has, if any (a file's shape is its first record's). */
export const detectPreferenceFormat = detect;

/** A --format value checked: UsageError naming the accepted ones otherwise. */
export function parsePreferenceFormat(value: string): PreferenceFormat {
  const found = PREFERENCE_FORMATS.find((f) => f === value);
  if (found === undefined)
    throw new UsageError(
      `--format: "${value}" is not a preference record shape; use one of ${PREFERENCE_FORMATS.join(", ")}`,
    );
  return found;
}
