// The token sample the seam is measured on: documents from any data source deepen reads (files,
// folders, embedded:heldout), each tokenized as the model's tokenizer does (BOS where it adds one),
// joined into one stream and cut into rows of `context` tokens, as pretraining packs text. Rows are
// produced as the documents are read, so nothing but the current row is held.
import { type ListOptions, readDocuments } from "../../data/corpus.js";
import { isEmbedded } from "../../data/embeddedCorpus.js";
import { UsageError } from "../../errors.js";
import type { Tokenizer } from "../../tokenizer/loadTokenizer.js";
import { stat } from "node:fs/promises";

export interface SampleOptions extends ListOptions {
  /** Tokens wanted; whole rows are taken, ⌊tokens / context⌋ of them (fewer where the data ends). */
  tokens: number;
  /** Row length. */
  context: number;
}

/** Refuses a sample that cannot fill one row, before any data is read. */
export function checkSample(tokens: number, context: number): void {
  if (!Number.isInteger(context) || context < 1)
    throw new UsageError(`--context ${context}: must be a positive integer`);
  if (tokens < context)
    throw new UsageError(
      `--tokens ${tokens}: shorter than one sequence of ${context} tokens (the context); ask for at least ${context}, or lower --context`,
    );
}

/** Rows of `context` tokens from `data`; a UsageError if the data holds less than one row. */
export async function* sampleRows(
  tokenizer: Tokenizer,
  data: string,
  opts: SampleOptions,
): AsyncGenerator<number[]> {
  const { context } = opts;
  checkSample(opts.tokens, context);
  if (!isEmbedded(data)) {
    try {
      await stat(data);
    } catch (e) {
      throw new UsageError(`--data ${data}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  const wanted = Math.floor(opts.tokens / context);
  let row: number[] = [];
  let rows = 0;
  let seen = 0;
  for await (const doc of readDocuments([data], { extensions: opts.extensions, onSkip: opts.onSkip })) {
    const ids = tokenizer.encode(doc.text);
    seen += ids.length;
    for (let i = 0; i < ids.length;) {
      const take = Math.min(context - row.length, ids.length - i);
      for (let k = 0; k < take; k++) row.push(ids[i + k]!);
      i += take;
      if (row.length === context) {
        yield row;
        row = [];
        if (++rows === wanted) return;
      }
    }
  }
  if (rows === 0)
    throw new UsageError(
      `--data ${data}: holds ${seen} tokens, shorter than one sequence of ${context} tokens (the context); lower --context or give more data`,
    );
}
