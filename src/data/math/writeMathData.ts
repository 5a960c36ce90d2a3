import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checkOutputTarget, withAtomicOutput } from "../../checkpoint/atomicOutput.js";
import { VERSION } from "../../version.js";
import { generateMathSet, type MathOptions, type MathSet } from "./generate.js";
import type { PreferencePair } from "./pair.js";
import type { MathRecord } from "./record.js";

export const MATH_FILES = ["train.jsonl", "test.jsonl", "info.json"] as const;
/** Written besides MATH_FILES with --preference. */
export const PAIR_FILES = ["pairs-train.jsonl", "pairs-test.jsonl"] as const;

function jsonl(records: readonly (MathRecord | PreferencePair)[]): string {
  return records.map((r) => JSON.stringify(r) + "\n").join("");
}

const PAIR_FORMAT =
  "TRL conversational preference pairs: prompt, chosen (the record's solution), rejected (one slip at " +
  "slip_step, 0-based, carried through to rejected_answer); one pair per record of the split";

/** What info.json says: how the set was made (enough to make it again) and how many of what it holds. */
export function mathInfo(o: MathOptions, set: MathSet): Record<string, unknown> {
  return {
    kind: "deepen math data",
    deepen_version: VERSION,
    settings: {
      n: o.n,
      seed: o.seed,
      levels: o.levels,
      rephrase: o.rephrase,
      test_fraction: o.testFraction,
      // Only when set, so an info.json made without pairs reads as it always has.
      ...(o.preference ? { preference: true } : {}),
    },
    files: {
      train: "train.jsonl",
      test: "test.jsonl",
      ...(set.pairs ? { pairs_train: PAIR_FILES[0], pairs_test: PAIR_FILES[1] } : {}),
    },
    counts: set.counts,
    answer_format: "the solution's last line is '#### ' and the integer answer (GSM8K's form)",
    ...(set.pairs ? { pair_format: PAIR_FORMAT } : {}),
  };
}

/**
 * Generates the set and writes train.jsonl, test.jsonl, info.json, and with `preference`
 * pairs-train.jsonl and pairs-test.jsonl, into `out`, all or nothing.
 */
export async function writeMathData(out: string, o: MathOptions, force = false): Promise<MathSet> {
  // An output that may not be replaced is refused before any work, as in every other command.
  checkOutputTarget(out, { force });
  const set = generateMathSet(o);
  await withAtomicOutput(out, { force }, async (tmp) => {
    await writeFile(join(tmp, "train.jsonl"), jsonl(set.train));
    await writeFile(join(tmp, "test.jsonl"), jsonl(set.test));
    if (set.pairs) {
      await writeFile(join(tmp, PAIR_FILES[0]), jsonl(set.pairs.train));
      await writeFile(join(tmp, PAIR_FILES[1]), jsonl(set.pairs.test));
    }
    await writeFile(join(tmp, "info.json"), JSON.stringify(mathInfo(o, set), null, 2) + "\n");
  });
  return set;
}
