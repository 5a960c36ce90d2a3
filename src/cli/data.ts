import type { Command } from "commander";
import { DEFAULT_TEST_FRACTION, MAX_REPHRASE, type SplitCounts } from "../data/math/generate.js";
import { parseLevels } from "../data/math/levels.js";
import { SLIP_KINDS } from "../data/math/slips.js";
import { writeMathData } from "../data/math/writeMathData.js";
import type { Level } from "../data/math/template.js";
import { parseCount, parseNumber } from "./parseOptions.js";
import { runCommand } from "./run.js";

interface MathFlags {
  out: string;
  n: string;
  seed: string;
  levels: string;
  rephrase: string;
  testFraction: string;
  preference?: boolean;
  force?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** "L1 120, L2 118": one split's problems per level, in level order. */
function perLevel(c: SplitCounts, levels: readonly Level[]): string {
  return levels.map((l) => `L${l} ${c.problems[l]}`).join(", ");
}

/** "; 360 train and 20 test preference pairs (122 dropped_carry, …)" with --preference, else nothing. */
function pairSummary({ train, test }: { train: SplitCounts; test: SplitCounts }): string {
  const [tp, vp, ts, vs] = [train.pairs, test.pairs, train.slips, test.slips];
  if (!tp || !vp || !ts || !vs) return "";
  const sum = (r: Readonly<Record<number, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
  const slips = SLIP_KINDS.map((k) => `${ts[k] + vs[k]} ${k}`).join(", ");
  return `; ${sum(tp)} train and ${sum(vp)} test preference pairs (${slips})`;
}

export function registerData(program: Command): void {
  const data = program.command("data").description("generate training and evaluation data");
  data
    .command("math")
    .description(
      "generate arithmetic word problems with worked solutions ending '#### answer' (train.jsonl, test.jsonl, info.json; " +
        "with --preference also pairs-train.jsonl and pairs-test.jsonl)",
    )
    .requiredOption("-o, --out <dir>", "output folder (required)")
    .option("--n <count>", "distinct problems over both splits, spread evenly over the levels", "10000")
    .option("--seed <n>", "generation seed: the same seed gives the same files", "0")
    .option("--levels <list>", "levels 1-4 (steps per problem), as 1-4, 2 or 1,3", "1-4")
    .option("--rephrase <k>", `wordings of each training problem, 1 to ${MAX_REPHRASE} (test keeps one)`, "1")
    .option(
      "--test-fraction <f>",
      "share of each level's problems held out in test.jsonl, in [0, 1)",
      String(DEFAULT_TEST_FRACTION),
    )
    .option(
      "--preference",
      "also write DPO preference pairs (pairs-train.jsonl, pairs-test.jsonl): each record's solution, and the same with one slip carried through",
    )
    .option("--force", "replace an existing output folder")
    .option("--json", "print the counts as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (f: MathFlags) => {
      await runCommand(!!f.verbose, async () => {
        const opts = {
          n: parseCount(f.n, "--n"),
          seed: parseCount(f.seed, "--seed"),
          levels: parseLevels(f.levels),
          rephrase: parseCount(f.rephrase, "--rephrase"),
          testFraction: parseNumber(f.testFraction, "--test-fraction"),
          preference: !!f.preference,
        };
        const start = performance.now();
        const set = await writeMathData(f.out, opts, !!f.force);
        const seconds = (performance.now() - start) / 1000;
        if (f.json) {
          process.stdout.write(JSON.stringify({ out: f.out, ...set.counts, seconds }) + "\n");
          return;
        }
        process.stdout.write(
          `wrote ${f.out}: train ${perLevel(set.counts.train, opts.levels)} problems in ${set.train.length} records, ` +
            `test ${perLevel(set.counts.test, opts.levels)}${pairSummary(set.counts)} ` +
            `(${seconds.toFixed(1)} s)\n`,
        );
      });
    });
}
