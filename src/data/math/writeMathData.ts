import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checkOutputTarget, withAtomicOutput } from "../../checkpoint/atomicOutput.js";
import { VERSION } from "../../version.js";
import { generateMathSet, type MathOptions, type MathSet } from "./generate.js";
import type { MathRecord } from "./record.js";

export const MATH_FILES = ["train.jsonl", "test.jsonl", "info.json"] as const;

function jsonl(records: readonly MathRecord[]): string {
  return records.map((r) => JSON.stringify(r) + "\n").join("");
}

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
    },
    files: { train: "train.jsonl", test: "test.jsonl" },
    counts: set.counts,
    answer_format: "the solution's last line is '#### ' and the integer answer (GSM8K's form)",
  };
}

/** Generates the set and writes train.jsonl, test.jsonl and info.json into `out`, all or nothing. */
export async function writeMathData(out: string, o: MathOptions, force = false): Promise<MathSet> {
  // An output that may not be replaced is refused before any work, as in every other command.
  checkOutputTarget(out, { force });
  const set = generateMathSet(o);
  await withAtomicOutput(out, { force }, async (tmp) => {
    await writeFile(join(tmp, "train.jsonl"), jsonl(set.train));
    await writeFile(join(tmp, "test.jsonl"), jsonl(set.test));
    await writeFile(join(tmp, "info.json"), JSON.stringify(mathInfo(o, set), null, 2) + "\n");
  });
  return set;
}
