// An SFT dataset in memory: every example read (data readers), rendered with the chat template,
// tokenized with its loss mask, and measured against --seq-len. Examples too long are dropped and
// counted, or cut to their first seq-len tokens with --truncate; a bad record stops the run with its
// file and line, or is skipped and counted with --skip-bad.
import { createHash } from "node:crypto";
import type { InstructionFormat } from "../../data/instruct/formats.js";
import { readInstructionExamples } from "../../data/instruct/read.js";
import { UsageError } from "../../errors.js";
import type { Tokenizer } from "../../tokenizer/loadTokenizer.js";
import { encodeChat, encodeText, type EncodedExample, type MaskOptions, truncated } from "./encodeExample.js";
import { readTally } from "./readTally.js";
import { slots } from "./sftBatcher.js";

export interface ReadSftOptions extends MaskOptions {
  seqLen: number;
  format?: InstructionFormat;
  skipBad?: boolean;
  truncate?: boolean;
  extensions?: readonly string[];
  /** Names the option that sets the template, for the error a model without one gets. */
  templateHint: string;
  note: (message: string) => void;
}

export interface SftDataset {
  examples: EncodedExample[];
  /** Records read, and what became of those not kept. */
  read: number;
  dropped: number;
  truncated: number;
  skipped: number;
  /** Loss-bearing tokens over all kept examples. */
  targets: number;
  /** A hash of every kept example's tokens and mask: what --resume must find unchanged. */
  hash: string;
  /** Files read per record shape ("messages": 2). */
  formats: Record<string, number>;
}

export async function readSftDataset(
  paths: readonly string[],
  tok: Tokenizer,
  o: ReadSftOptions,
): Promise<SftDataset> {
  const hash = createHash("sha256");
  const out: SftDataset = {
    examples: [],
    read: 0,
    dropped: 0,
    truncated: 0,
    skipped: 0,
    targets: 0,
    hash: "",
    formats: {},
  };
  const tally = readTally(o);
  for await (const ex of readInstructionExamples(paths, {
    format: o.format,
    skipBad: o.skipBad,
    extensions: o.extensions,
    ...tally.hooks,
  })) {
    out.read++;
    let e: EncodedExample;
    if (ex.kind === "text") e = encodeText(tok, ex.text);
    else {
      if (!tok.hasChatTemplate)
        throw new UsageError(
          `${ex.where}: ${tok.dir} has no chat template to render this conversation with; ${o.templateHint}`,
        );
      try {
        e = encodeChat(tok, { messages: ex.messages, trainFrom: ex.completionStart }, o);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        if (o.skipBad) {
          tally.hooks.onBad(ex.where, err.message);
          continue;
        }
        throw new UsageError(`${ex.where}: ${err.message}`);
      }
    }
    if (slots(e) > o.seqLen) {
      if (!o.truncate) {
        out.dropped++;
        continue;
      }
      e = truncated(e, o.seqLen);
      out.truncated++;
    }
    let targets = 0;
    for (const t of e.trained) targets += t;
    // An example cut before its answer, or a one-token text, teaches nothing.
    if (targets === 0 || slots(e) < 1) {
      out.dropped++;
      continue;
    }
    out.targets += targets;
    hash.update(Uint32Array.from(e.tokens)).update(e.trained);
    out.examples.push(e);
  }
  tally.finish();
  out.skipped = tally.skipped;
  out.formats = tally.formats;
  out.hash = hash.digest("hex").slice(0, 16);
  return out;
}
