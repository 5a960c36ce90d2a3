// `deepen seam`: runs the model over a token sample, recording the residual stream at every layer
// boundary, and keeps running sums of the seam measures (seamSums.ts), batch by batch. Returns the
// measures, the DUS table and the recommended cut for the requested depth.
import { join } from "node:path";
import { looksLikeGguf } from "../../checkpoint/gguf/readGguf.js";
import { CONFIG_FILE, openModelFolder } from "../../checkpoint/modelFolder.js";
import type { ListOptions } from "../../data/corpus.js";
import { CheckpointError, DeepenError, SeamError, UsageError } from "../../errors.js";
import { resolveDecoder } from "../../arch/decoderConfig.js";
import { DecoderModel } from "../../nn/decoderModel.js";
import type { SessionOptions } from "../../runtime/session.js";
import { loadTokenizer } from "../../tokenizer/loadTokenizer.js";
import { defaultContext } from "../perplexityOfText.js";
import { type SeamMeasures, seamMeasures } from "./measures.js";
import { checkSize, defaultSize, planContrasts, plansOfSize, type TwoSlicePlan } from "./recommend.js";
import { checkSample, sampleRows } from "./sampleRows.js";
import { SeamSums } from "./seamSums.js";

/** Tokens measured unless --tokens says otherwise. */
export const DEFAULT_SEAM_TOKENS = 8192;
/** Tokens per forward run unless --batch says otherwise (rows = this / context, at least 1). */
export const SEAM_TOKENS_PER_RUN = 2048;

export interface SeamOptions extends SessionOptions, ListOptions {
  /** A file, folder or embedded:heldout (as eval --perplexity reads). */
  data: string;
  /** Tokens in the sample (whole rows of `context`); default DEFAULT_SEAM_TOKENS. */
  tokens?: number;
  /** Row length; default the context eval uses (the model's, at most 4096). */
  context?: number;
  /** Rows per forward run; default SEAM_TOKENS_PER_RUN / context. */
  batch?: number;
  /** Output depth to recommend a plan for; default defaultSize(n). */
  size?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SeamReport extends SeamMeasures {
  model: string;
  data: string;
  context: number;
  sequences: number;
  /** The depth the recommendation is for, and whether it was the default (the paper's 1.5×). */
  size: number;
  defaultSize: boolean;
  recommended: TwoSlicePlan;
  /** Every two-slice plan of that depth, best first. */
  plans: TwoSlicePlan[];
}

/** Opens the model's config and refuses, before any data or weights are read, what the engine cannot run. */
export async function seamLayers(model: string): Promise<number> {
  const cannot = (why: string) =>
    new SeamError(
      `${model}: the engine cannot run this model, so its seam cannot be measured (${why}); surgery still works with an explicit --drop M (or --layers S)`,
    );
  if (await looksLikeGguf(model)) throw cannot("it is a GGUF file; the engine runs model folders");
  const folder = await openModelFolder(model);
  try {
    return resolveDecoder(folder.config, join(folder.dir, CONFIG_FILE)).config.num_hidden_layers;
  } catch (e) {
    if (e instanceof DeepenError && !(e instanceof UsageError)) throw cannot(e.message);
    throw e;
  }
}

export async function measureSeam(model: string, opts: SeamOptions): Promise<SeamReport> {
  const n = await seamLayers(model);
  if (opts.size !== undefined) checkSize(n, opts.size);
  const size = opts.size ?? defaultSize(n);
  const tokens = opts.tokens ?? DEFAULT_SEAM_TOKENS;
  if (opts.context !== undefined) checkSample(tokens, opts.context);
  if (opts.batch !== undefined && (!Number.isInteger(opts.batch) || opts.batch < 1))
    throw new UsageError(`--batch ${opts.batch}: must be a positive integer`);
  const tokenizer = await loadTokenizer(model);
  const dm = await DecoderModel.load(model, opts);
  try {
    const context = opts.context ?? defaultContext(dm);
    const limit = dm.decoder.config.max_position_embeddings;
    if (limit !== undefined && context > limit && !dm.decoder.config.rope_scaling)
      throw new UsageError(`--context ${context}: longer than the model's ${limit} positions`);
    checkSample(tokens, context);
    const wanted = Math.floor(tokens / context);
    const B = Math.min(opts.batch ?? Math.max(1, Math.floor(SEAM_TOKENS_PER_RUN / context)), wanted);
    const H = dm.decoder.config.hidden_size;
    const sums = new SeamSums(n, planContrasts(n, size));
    let rows: number[][] = [];
    let sequences = 0;
    const run = async () => {
      const real = rows.length;
      // A short last batch repeats its last row, so every run has one shape (one compiled graph).
      while (rows.length < B) rows.push(rows[real - 1]!);
      sums.add(await dm.residualStream(rows), H, real * context);
      sequences += real;
      rows = [];
      opts.onProgress?.(sequences * context, wanted * context);
    };
    for await (const row of sampleRows(tokenizer, opts.data, { ...opts, tokens, context })) {
      rows.push(row);
      if (rows.length === B) await run();
    }
    if (rows.length > 0) await run();
    const measures = seamMeasures(sums);
    if (measures.distance.some((r) => r.some((e) => !Number.isFinite(e.mean))))
      throw new CheckpointError(
        model,
        "its hidden states are not finite numbers (non-finite weights, or config.json values that make them so): no distance to measure",
      );
    const plans = plansOfSize(measures, size);
    return {
      model,
      data: opts.data,
      context,
      sequences,
      ...measures,
      size,
      defaultSize: opts.size === undefined,
      recommended: plans[0]!,
      plans,
    };
  } finally {
    await dm.release();
  }
}
