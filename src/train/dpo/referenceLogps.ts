// The reference model's sequence log-probabilities, computed once before training (one batched pass
// over every pair's two sides, shortest first so rows pad little) and kept in the run folder, keyed
// by what they depend on: the tokenized data, the reference model and the log-probability form.
// A resumed run reads them back instead of running the reference again.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readJsonObject } from "../../checkpoint/jsonFile.js";
import type { ModelFolder } from "../../checkpoint/modelFolder.js";
import { UsageError } from "../../errors.js";
import type { DecoderModel } from "../../nn/decoderModel.js";
import type { EncodedExample } from "../sft/encodeExample.js";
import { lengthBuckets, slots } from "../sft/sftBatcher.js";

export const REFERENCE_CACHE_FILE = "reference_logps.json";
/** Two numbers a pair; 64 MB of JSON holds about two million pairs. */
const MAX_CACHE_BYTES = 256 * 1024 * 1024;

export interface ReferenceKey {
  data: string;
  reference: string;
  average: boolean;
}

/** What identifies a reference model's weights without reading them: its folder, config and shards. */
export function referenceIdentity(folder: ModelFolder): string {
  const h = createHash("sha256").update(folder.dir).update(JSON.stringify(folder.config));
  for (const shard of folder.shards) {
    const s = statSync(shard);
    h.update(`${shard}:${s.size}:${s.mtimeMs}`);
  }
  return h.digest("hex").slice(0, 16);
}

/**
 * Each side's sum (or mean, `average`) of response-token log-probabilities under `model`, rows of
 * `rows` sequences per run. `onProgress(done, total)` after each run.
 */
export async function sequenceLogpsOf(
  model: DecoderModel,
  sides: readonly EncodedExample[],
  o: {
    rows: number;
    seqLen: number;
    padId: number;
    average: boolean;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<Float32Array> {
  const out = new Float32Array(sides.length);
  const order = [...sides.keys()].sort((a, b) => slots(sides[a]!) - slots(sides[b]!));
  const buckets = lengthBuckets(o.seqLen);
  for (let i = 0; i < order.length; i += o.rows) {
    const idx = Array.from({ length: o.rows }, (_, r) => order[Math.min(i + r, order.length - 1)]!);
    const T = buckets.find((t) => t >= Math.max(...idx.map((j) => slots(sides[j]!)))) ?? o.seqLen;
    const pad = (ids: number[]) => [...ids, ...new Array<number>(T - ids.length).fill(o.padId)];
    const nll = await model.nll(
      idx.map((j) => pad(sides[j]!.tokens.slice(0, -1))),
      idx.map((j) => pad(sides[j]!.tokens.slice(1))),
    );
    for (let r = 0; r < Math.min(o.rows, order.length - i); r++) {
      const e = sides[idx[r]!]!;
      let sum = 0;
      let n = 0;
      for (let t = 0; t < slots(e); t++)
        if (e.trained[t + 1]) {
          sum -= nll[r * T + t]!;
          n++;
        }
      out[idx[r]!] = o.average ? sum / n : sum;
    }
    o.onProgress?.(Math.min(i + o.rows, order.length), order.length);
  }
  return out;
}

interface CacheFile {
  key: ReferenceKey;
  train: number[];
  eval: number[];
}

/** The cached log-probabilities of a run folder, when they were computed for `key`; UsageError when
 * the folder holds some for another key (the data, the template or the reference changed). */
export async function readReferenceCache(
  out: string,
  key: ReferenceKey,
): Promise<{ train: Float32Array; eval: Float32Array } | undefined> {
  const file = join(out, REFERENCE_CACHE_FILE);
  if (!existsSync(file)) return undefined;
  const c = (await readJsonObject(file, MAX_CACHE_BYTES)) as unknown as CacheFile;
  const k = c.key ?? ({} as ReferenceKey);
  const differs = (["data", "reference", "average"] as const).filter((f) => k[f] !== key[f]);
  if (differs.length > 0)
    throw new UsageError(
      `${file}: the reference log-probabilities were computed for another ${differs.map((f) => ({ data: "tokenized data (data or chat template)", reference: "reference model", average: "log-probability form (--average-logps, ipo)" })[f]).join(" and ")}; start a new run, or --force to replace this one`,
    );
  return { train: Float32Array.from(c.train), eval: Float32Array.from(c.eval) };
}

export async function writeReferenceCache(
  out: string,
  key: ReferenceKey,
  train: Float32Array,
  evalLogps: Float32Array,
): Promise<void> {
  const c: CacheFile = { key, train: Array.from(train), eval: Array.from(evalLogps) };
  const file = join(out, REFERENCE_CACHE_FILE);
  // Written whole, then renamed: a half-written cache is never read back.
  await writeFile(`${file}.tmp`, JSON.stringify(c) + "\n");
  await rename(`${file}.tmp`, file);
}
