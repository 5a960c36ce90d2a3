// Few-shot examples for each scored document. `first_n` takes the pool's first k in file order (MMLU's
// dev rows, as the harness does); `random` draws k without replacement with a generator seeded by the
// run's seed, the task and the document's index, so a document gets the same examples whatever
// --limit or the order of the run. When the pool is the evaluated file itself (no train split at
// hand), the scored document is never among its own examples.
import { UsageError } from "../../errors.js";
import { hashString, mulberry32 } from "../../random.js";

export interface ShotPool<T> {
  items: readonly T[];
  /** True when the pool is the evaluated documents themselves. */
  isEvalSet: boolean;
  /** Where the pool came from, for the error when it is too small. */
  source: string;
}

/** The indices into `pool.items` of the k examples for evaluated document `docIndex`. */
export function pickShots<T>(
  pool: ShotPool<T>,
  k: number,
  sampler: "random" | "first_n",
  docIndex: number,
  seed: number,
  task: string,
): number[] {
  if (k === 0) return [];
  const available = pool.items.length - (pool.isEvalSet ? 1 : 0);
  if (k > available)
    throw new UsageError(
      `${task}: ${k} few-shot examples asked, but ${pool.source} offers ${available}${pool.isEvalSet ? " (the evaluated file, less the scored example)" : ""}`,
    );
  const skip = pool.isEvalSet ? docIndex : -1;
  if (sampler === "first_n") {
    const out: number[] = [];
    for (let i = 0; out.length < k; i++) if (i !== skip) out.push(i);
    return out;
  }
  // A partial Fisher–Yates shuffle over the pool's indices, k steps.
  const rand = mulberry32(hashString(`${seed}:${task}:${docIndex}`));
  const idx = [...pool.items.keys()].filter((i) => i !== skip);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}
