// The refusal for a top-level key of a recipe or merge config that deepen does not read: the keys
// mergekit's schema has and deepen refuses say why, the rest say which keys exist.
import { didYouMean } from "./didYouMean.js";

/** Keys of mergekit's MergeConfiguration that deepen refuses, and why. */
const REFUSED: Record<string, string> = {
  modules:
    "modules (per-module merges of multimodal models) is not supported: deepen merges decoder-only language models; merge the language model with models or slices",
};

/**
 * The top-level keys deepen reads in merge configs and recipes: mergekit's (a layer stack accepts
 * those it does not use, so shared configs run unchanged), and `name` (mergekit-multi's document name).
 */
export const TOP_KEYS: ReadonlySet<string> = new Set([
  "merge_method",
  "models",
  "slices",
  "base_model",
  "parameters",
  "dtype",
  "out_dtype",
  "tokenizer_source",
  "tokenizer",
  "chat_template",
  "name",
]);

export function unknownTopKey(key: string): string {
  if (Object.hasOwn(REFUSED, key)) return REFUSED[key]!;
  const guess = didYouMean(key, [...TOP_KEYS]);
  return `unknown key ${key}` + (guess ? ` (did you mean ${guess}?)` : "");
}
