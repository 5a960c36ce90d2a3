import { UsageError } from "../../errors.js";
import { Draw } from "./draw.js";
import { drawProblem, wordingCount, type Problem } from "./problem.js";
import { preferencePair, type PreferencePair } from "./pair.js";
import { problemId, toRecord, type MathRecord } from "./record.js";
import { SLIP_KINDS, type SlipKind } from "./slips.js";
import { MIN_WORDINGS, type Level } from "./template.js";
import { TEMPLATES } from "./templates/index.js";

export interface MathOptions {
  /** Distinct problems over both splits, before rephrasing. */
  readonly n: number;
  readonly seed: number;
  readonly levels: readonly Level[];
  /** Wordings of each training problem (1: one wording each). */
  readonly rephrase: number;
  /** Share of each level's problems held out for test.jsonl, in [0, 1). */
  readonly testFraction: number;
  /** Also make a preference pair (a slipped solution) of every record, for DPO. */
  readonly preference?: boolean;
}

export const DEFAULT_TEST_FRACTION = 0.1;
/** Every template has at least MIN_WORDINGS written wordings, each context-first and question-first. */
export const MAX_REPHRASE = 2 * MIN_WORDINGS;
// The generator redraws a problem whose key it has already made. This many redraws in a row mean the
// level's templates are nearly exhausted: --n is too large for it, which is said instead of spinning.
const MISSES_IN_A_ROW = 20_000;

export interface SplitCounts {
  /** Distinct problems per level. */
  readonly problems: Record<Level, number>;
  /** Records (lines) per level: problems times their wordings. */
  readonly records: Record<Level, number>;
  /** With `preference`: pairs per level (a record no slip fits has none) and per kind of slip. */
  readonly pairs?: Record<Level, number>;
  readonly slips?: Record<SlipKind, number>;
}

export interface MathSet {
  readonly train: MathRecord[];
  readonly test: MathRecord[];
  /** With `preference`: a pair per record, in the records' order (train pairs from train records only). */
  readonly pairs?: { readonly train: PreferencePair[]; readonly test: PreferencePair[] };
  readonly counts: { readonly train: SplitCounts; readonly test: SplitCounts };
}

export function checkMathOptions(o: MathOptions): void {
  if (!Number.isSafeInteger(o.n) || o.n < 1) throw new UsageError(`--n ${o.n}: must be at least 1`);
  if (o.levels.length === 0) throw new UsageError("--levels: no level chosen");
  if (!Number.isSafeInteger(o.rephrase) || o.rephrase < 1 || o.rephrase > MAX_REPHRASE)
    throw new UsageError(
      `--rephrase ${o.rephrase}: must be 1 to ${MAX_REPHRASE} (the wordings every template has)`,
    );
  if (!(o.testFraction >= 0 && o.testFraction < 1))
    throw new UsageError(`--test-fraction ${o.testFraction}: must be at least 0 and less than 1`);
}

/** --n spread over the levels as evenly as it divides, the lower levels taking any remainder. */
function perLevel(n: number, levels: readonly Level[]): Map<Level, number> {
  const base = Math.floor(n / levels.length);
  return new Map(levels.map((l, i) => [l, base + (i < n % levels.length ? 1 : 0)]));
}

/** `count` problems of `level` with distinct keys, each with its wordings in a random order. */
function drawLevel(level: Level, count: number, seed: number): { problem: Problem; order: number[] }[] {
  // One stream per level: the problems of a level do not change when other levels are added or removed.
  const d = Draw.named("deepen-math", seed, level);
  const templates = TEMPLATES[level];
  const seen = new Set<string>();
  const out: { problem: Problem; order: number[] }[] = [];
  for (let misses = 0; out.length < count;) {
    if (misses >= MISSES_IN_A_ROW) {
      throw new UsageError(
        `--n: level ${level} has too few distinct problems for ${count} (found ${out.length}); ask for fewer`,
      );
    }
    const problem = drawProblem(d.pick(templates), d);
    if (seen.has(problem.key)) {
      misses++;
      continue;
    }
    misses = 0;
    seen.add(problem.key);
    // The order is drawn whatever --rephrase is, so --rephrase changes wordings, never the problems.
    const order = d.shuffle([...Array(wordingCount(problem.template)).keys()]);
    out.push({ problem, order });
  }
  return out;
}

const zero = (): Record<Level, number> => ({ 1: 0, 2: 0, 3: 0, 4: 0 });

interface Made {
  readonly record: MathRecord;
  readonly problem: Problem;
}

/** The pairs of one split's records and their counts, added to the split's counts. */
function pairsOf(made: readonly Made[], seed: number, c: SplitCounts): [PreferencePair[], SplitCounts] {
  const pairs = made.flatMap(({ record, problem }) => preferencePair(problem, record, seed) ?? []);
  const perLevel = zero();
  const perKind = Object.fromEntries(SLIP_KINDS.map((k) => [k, 0])) as Record<SlipKind, number>;
  for (const p of pairs) {
    perLevel[p.level]++;
    perKind[p.slip]++;
  }
  return [pairs, { ...c, pairs: perLevel, slips: perKind }];
}

/**
 * Generates the problems and splits them by problem: a level's first round(count × testFraction)
 * problems (never all of them) go to test in one wording, the rest to train in `rephrase` wordings.
 * Keys are distinct within a level and carry the template, whose level is fixed, so no test problem
 * is in train under any wording. Both splits are shuffled; everything follows from the seed. With
 * `preference`, each record also gets a pair, its slip drawn from a stream of its own (slipStream) so
 * the records are byte for byte those made without it.
 */
export function generateMathSet(o: MathOptions): MathSet {
  checkMathOptions(o);
  const train: Made[] = [];
  const test: Made[] = [];
  const counts = {
    train: { problems: zero(), records: zero() },
    test: { problems: zero(), records: zero() },
  };
  for (const [level, count] of perLevel(o.n, o.levels)) {
    const drawn = drawLevel(level, count, o.seed);
    const held = Math.min(Math.round(count * o.testFraction), Math.max(count - 1, 0));
    drawn.forEach(({ problem, order }, i) => {
      const id = problemId(level, i);
      const isTest = i < held;
      const wordings = order.slice(0, isTest ? 1 : o.rephrase);
      const split = isTest ? test : train;
      const c = isTest ? counts.test : counts.train;
      for (const w of wordings) split.push({ record: toRecord(problem, id, w), problem });
      c.problems[level]++;
      c.records[level] += wordings.length;
    });
  }
  // The shuffle's draws depend only on the lengths, so carrying the problems along changes no order.
  const order = Draw.named("deepen-math", o.seed, "order");
  const shuffled = { train: order.shuffle(train), test: order.shuffle(test) };
  const records = {
    train: shuffled.train.map((m) => m.record),
    test: shuffled.test.map((m) => m.record),
  };
  if (!o.preference) return { ...records, counts };
  const [trainPairs, trainCounts] = pairsOf(shuffled.train, o.seed, counts.train);
  const [testPairs, testCounts] = pairsOf(shuffled.test, o.seed, counts.test);
  return {
    ...records,
    pairs: { train: trainPairs, test: testPairs },
    counts: { train: trainCounts, test: testCounts },
  };
}
