// The Llama-only name the first tests used; the float64 reference now covers every decoder family
// deepen supports and lives in decoderForward.ts.
import { referenceLogits } from "./decoderForward.js";

/** Logits [T][vocab] of a Llama/Mistral checkpoint for `tokens` (see referenceLogits). */
export function llamaLogits(dir: string, tokens: number[]): Promise<Float64Array[]> {
  return referenceLogits(dir, tokens);
}
