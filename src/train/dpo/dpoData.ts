// A DPO dataset in memory: each preference pair rendered with the chat template twice (prompt +
// chosen, prompt + rejected), tokenized with SFT's mask so only the response tokens count, and
// measured against --seq-len. Pairs with a side too long are dropped and counted, or cut with
// --truncate (kept only while both responses keep a token).
import { createHash } from "node:crypto";
import { readPreferencePairs, type PreferenceFormat } from "../../data/instruct/preference.js";
import { UsageError } from "../../errors.js";
import type { Tokenizer } from "../../tokenizer/loadTokenizer.js";
import { encodeChat, type EncodedExample, truncated } from "../sft/encodeExample.js";
import { readTally } from "../sft/readTally.js";
import { slots } from "../sft/sftBatcher.js";

export interface EncodedPair {
  chosen: EncodedExample;
  rejected: EncodedExample;
}

export interface DpoDataset {
  pairs: EncodedPair[];
  read: number;
  dropped: number;
  truncated: number;
  identical: number;
  skipped: number;
  /** A hash of every kept pair's tokens and masks. */
  hash: string;
  formats: Record<string, number>;
}

export interface ReadDpoOptions {
  seqLen: number;
  format?: PreferenceFormat;
  skipBad?: boolean;
  truncate?: boolean;
  extensions?: readonly string[];
  templateHint: string;
  note: (message: string) => void;
}

const hasTarget = (e: EncodedExample) => e.trained.some((t) => t === 1);

export async function readDpoDataset(
  paths: readonly string[],
  tok: Tokenizer,
  o: ReadDpoOptions,
): Promise<DpoDataset> {
  const hash = createHash("sha256");
  const out: DpoDataset = {
    pairs: [],
    read: 0,
    dropped: 0,
    truncated: 0,
    identical: 0,
    skipped: 0,
    hash: "",
    formats: {},
  };
  const tally = readTally(o);
  for await (const p of readPreferencePairs(paths, {
    format: o.format,
    skipBad: o.skipBad,
    extensions: o.extensions,
    ...tally.hooks,
    onIdentical: () => out.identical++,
  })) {
    out.read++;
    if (!tok.hasChatTemplate)
      throw new UsageError(
        `${p.where}: ${tok.dir} has no chat template to render this pair with; ${o.templateHint}`,
      );
    let pair: EncodedPair;
    try {
      const side = (response: typeof p.chosen) =>
        encodeChat(tok, { messages: [...p.prompt, ...response], trainFrom: p.prompt.length });
      pair = { chosen: side(p.chosen), rejected: side(p.rejected) };
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      if (o.skipBad) {
        tally.hooks.onBad(p.where, err.message);
        continue;
      }
      throw new UsageError(`${p.where}: ${err.message}`);
    }
    if (slots(pair.chosen) > o.seqLen || slots(pair.rejected) > o.seqLen) {
      if (!o.truncate) {
        out.dropped++;
        continue;
      }
      pair = { chosen: truncated(pair.chosen, o.seqLen), rejected: truncated(pair.rejected, o.seqLen) };
      if (!hasTarget(pair.chosen) || !hasTarget(pair.rejected)) {
        out.dropped++;
        continue;
      }
      out.truncated++;
    }
    for (const e of [pair.chosen, pair.rejected]) hash.update(Uint32Array.from(e.tokens)).update(e.trained);
    out.pairs.push(pair);
  }
  tally.finish();
  out.skipped = tally.skipped;
  out.formats = tally.formats;
  out.hash = hash.digest("hex").slice(0, 16);
  return out;
}
