// What the chat-rendered objectives (SFT and DPO) share: their data options, the hint a model
// without a chat template gets, and how held-out items are chosen.
import { splitDocuments } from "../data/packing.js";
import { countOf } from "../formatCount.js";
import { UsageError } from "../errors.js";
import { BUILTIN_TEMPLATES } from "../tokenizer/builtinTemplates.js";
import type { RunOptions } from "./run.js";

export interface ChatRunOptions extends RunOptions {
  data: string[];
  seqLen?: number;
  evalData?: string[];
  evalFraction?: number;
  /** Eval batches per evaluation (default: every held-out item, at most RUN_DEFAULTS.evalBatches batches). */
  evalBatches?: number;
  skipBad?: boolean;
  extensions?: string[];
  /** A built-in template name (default: the model's own chat template). */
  template?: string;
  /** Keep the first --seq-len tokens of a longer item instead of dropping it. */
  truncate?: boolean;
}

/** What a model without a chat template is told to do. */
export const templateHint = () => `give --template NAME (${Object.keys(BUILTIN_TEMPLATES).join(", ")})`;

/**
 * Training and held-out items: `--eval-data` read as the training data was (`readEval`), or a seeded
 * `--eval-fraction` of the training items, or none. `noun` names an item in notes and errors.
 */
export async function splitHeldOut<T>(
  items: T[],
  o: ChatRunOptions,
  seed: number,
  noun: string,
  readEval: (paths: string[]) => Promise<T[]>,
  note: (m: string) => void,
): Promise<{ train: T[]; held: T[] }> {
  if (o.evalData) {
    const held = await readEval(o.evalData);
    if (held.length === 0)
      throw new UsageError(`--eval-data ${o.evalData.join(", ")}: no ${noun} to evaluate on`);
    return { train: items, held };
  }
  if (o.evalFraction && items.length > 0) {
    const split = splitDocuments(items.length, o.evalFraction, seed);
    note(`held out ${countOf(split.eval.length, noun)} of them (--eval-fraction ${o.evalFraction})`);
    return { train: split.train.map((i) => items[i]!), held: split.eval.map((i) => items[i]!) };
  }
  return { train: items, held: [] };
}
