// The model card of a training checkpoint: the base's card, then a section for this training.
import type { TrainerState } from "./trainCheckpoint.js";

export interface CardInput {
  /** The starting model's README.md, or "" when it has none. */
  baseCard: string;
  /** The starting model's name, the card's title when it has no card. */
  name: string;
  /** The section heading: "Continued pretraining", "Instruction tuning"… */
  title: string;
  state: TrainerState;
  /** The objective's part of the shape line ("Sequence length 1024"). */
  shape: string;
  batch: number;
  gradAccum: number;
  command?: string;
}

export function trainingCard(c: CardInput): string {
  const s = c.state;
  const lines = [
    c.baseCard.trimEnd() || `# ${c.name}`,
    "",
    `## ${c.title} (deepen)`,
    "",
    `- Steps: ${s.step}${s.finished ? " (finished)" : ""}, tokens seen: ${s.tokens_seen}`,
    `- ${c.shape}, batch ${c.batch} x ${c.gradAccum} accumulation steps, seed ${s.fingerprint.seed}`,
  ];
  if (s.last_eval) {
    const measures = Object.entries(s.last_eval).map(
      ([k, v]) => `${k} ${v.toFixed(k === "perplexity" ? 3 : 4)}`,
    );
    lines.push(`- Held-out ${measures.join(", ")}`);
  }
  if (s.skipped_nonfinite) lines.push(`- Batches skipped for non-finite values: ${s.skipped_nonfinite}`);
  if (c.command) lines.push("", "```", c.command, "```");
  lines.push("");
  return lines.join("\n");
}
