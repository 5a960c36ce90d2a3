// A reference model is only comparable when it reads the same token ids as the model: the texts are
// tokenized once, by the model's tokenizer, and both score those ids.

import type { ModelFolder } from "../checkpoint/modelFolder.js";
import { UsageError } from "../errors.js";
import type { Tokenizer } from "./loadTokenizer.js";

/** Text whose ids differ between any two tokenizers worth telling apart: letters, digits, spaces,
 * punctuation, a newline, accents and CJK (byte fallback or not), with the special tokens added. */
export const TOKENIZER_PROBE = "Hello, world! 17 + 26 = 43\n#### 43 — naïve café, 東京";

/**
 * UsageError naming `option` unless `other` has the vocabulary of `base`: the same number of
 * embedding rows in config.json, the same tokenizer size, and the same ids for TOKENIZER_PROBE,
 * special tokens (BOS) included.
 */
export function checkSameTokenizer(
  option: string,
  base: { folder: ModelFolder; tokenizer: Tokenizer },
  other: { folder: ModelFolder; tokenizer: Tokenizer },
): void {
  const name = base.folder.input;
  const rows = (f: ModelFolder) => String(f.config.vocab_size);
  const ids = (t: Tokenizer) => t.encode(TOKENIZER_PROBE).join();
  let differs: string | undefined;
  if (rows(base.folder) !== rows(other.folder))
    differs = `its vocab_size is ${rows(other.folder)}, ${name}'s ${rows(base.folder)}`;
  else if (base.tokenizer.vocabSize !== other.tokenizer.vocabSize)
    differs = `its tokenizer has ${other.tokenizer.vocabSize} tokens, ${name}'s ${base.tokenizer.vocabSize}`;
  else if (ids(base.tokenizer) !== ids(other.tokenizer))
    differs = `its tokenizer gives a probe text other ids than ${name}'s`;
  if (differs) throw new UsageError(`${option}: ${differs}; the reference must share the model's tokenizer`);
}
