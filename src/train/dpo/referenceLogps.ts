// The reference model's sequence log-probabilities, computed once before training (one batched pass
// over every pair's two sides, shortest first so rows pad little) and kept in the run folder, keyed
// by what they depend on: the tokenized data, the reference model and the log-probability form.
// A resumed run reads them back instead of running the reference again.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readJsonObject } from "../../checkpoint/jsonFile.js";
import type { ModelFolder } from "../../checkpoint/modelFolder.js";
import { CheckpointError, UsageError } from "../../errors.js";
import type { DecoderModel } from "../../nn/decoderModel.js";
import type { EncodedExample } from "../sft/encodeExample.js";
import { responseNll } from "../sft/responseNll.js";

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
  const { sum, count } = await responseNll(model, sides, o);
  return Float32Array.from(sum, (nll, i) => (o.average ? -nll / count[i]! : -nll));
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
  sizes: { train: number; eval: number },
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
  // A damaged file is named here, not fed to the step as NaNs or met as a crash.
  for (const part of ["train", "eval"] as const) {
    const v = c[part] as unknown;
    if (
      !Array.isArray(v) ||
      v.length !== sizes[part] ||
      !v.every((x) => typeof x === "number" && Number.isFinite(x))
    )
      throw new CheckpointError(
        file,
        `"${part}" must be ${sizes[part]} finite numbers: the file is damaged; --force starts the run again`,
      );
  }
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
  // Written whole, then renamed: a half-written cache is never read back. The temporary name is the
  // run folder's pattern for a save in progress, so a resume after a kill here removes it.
  const tmp = join(
    out,
    `.${REFERENCE_CACHE_FILE}.deepen-tmp-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  try {
    await writeFile(tmp, JSON.stringify(c) + "\n");
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
