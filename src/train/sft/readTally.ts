// The counting every read of chat data does (SFT's examples, DPO's pairs): bad records skipped
// under --skip-bad (the first few named), files a folder listing left out, files per record shape.
import { skippedNote } from "../../data/corpus.js";
import { INSTRUCTION_EXTENSIONS } from "../../data/instruct/read.js";

/** Bad records named one by one before the rest are only counted. */
const NAMED_BAD = 3;

export interface ReadTally {
  /** Bad records skipped. */
  skipped: number;
  /** Files read per record shape ("messages": 2). */
  formats: Record<string, number>;
  /** The reader's callbacks; `onBad` also takes records the caller refuses after reading. */
  hooks: {
    onBad: (where: string, reason: string) => void;
    onSkip: (path: string) => void;
    onFile: (path: string, format: string) => void;
  };
  /** Notes the totals once reading is done. */
  finish(): void;
}

export function readTally(o: {
  note: (m: string) => void;
  skipBad?: boolean;
  extensions?: readonly string[];
}): ReadTally {
  const skippedFiles: string[] = [];
  const t: ReadTally = {
    skipped: 0,
    formats: {},
    hooks: {
      onBad: (where, reason) => {
        t.skipped++;
        if (t.skipped <= NAMED_BAD) o.note(`skipped ${where}: ${reason}`);
      },
      onSkip: (path) => skippedFiles.push(path),
      onFile: (_path, format) => (t.formats[format] = (t.formats[format] ?? 0) + 1),
    },
    finish: () => {
      if (o.skipBad && t.skipped > NAMED_BAD) o.note(`skipped ${t.skipped} bad records in all (--skip-bad)`);
      if (skippedFiles.length > 0) o.note(skippedNote(skippedFiles, o.extensions ?? INSTRUCTION_EXTENSIONS));
    },
  };
  return t;
}
