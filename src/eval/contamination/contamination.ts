// `deepen contamination`: has a model seen these texts? Each text's Min-K% Prob (minKProb.ts) under
// the model is set against the same score under a reference model that did not see them, sharing
// the model's tokenizer. A text the model finds much more likely than the reference does is a
// candidate for contamination; with membership labels, the ROC AUC says how well each score
// separates members from non-members. Without labels nothing here proves contamination: the scores
// rank texts, they set no threshold.

import { openModelFolder, type ModelFolder } from "../../checkpoint/modelFolder.js";
import { UsageError } from "../../errors.js";
import { countOf } from "../../formatCount.js";
import { DecoderModel } from "../../nn/decoderModel.js";
import type { SessionOptions } from "../../runtime/session.js";
import { loadTokenizer } from "../../tokenizer/loadTokenizer.js";
import { DEFAULT_CONTEXT_CAP } from "../perplexityOfText.js";
import { distribution, type Distribution } from "./distribution.js";
import { minKProb } from "./minKProb.js";
import { readTexts } from "./readTexts.js";
import { rocAuc } from "./rocAuc.js";
import { checkSameTokenizer } from "../../tokenizer/sameTokenizer.js";
import { scoreSequences } from "./scoreSequences.js";
import { checkScoresFile, writeScores } from "./writeScores.js";

/** The paper's recommended k (it reports k = 20 as the best setting on WikiMIA). */
export const DEFAULT_K = 20;
/** Examples listed as most likely under the model relative to the reference. */
export const DEFAULT_TOP = 10;
/** Rows a forward run holds at most when not told. */
export const DEFAULT_ROWS = 8;
/** Characters of an example's text kept to show it in the report. */
export const PREVIEW_CHARS = 80;

export interface ContaminationOptions extends SessionOptions {
  /** The reference model folder: one that did not see the data, sharing the model's tokenizer. */
  ref: string;
  /** The data file. */
  data: string;
  /** Percent of each text's least likely tokens Min-K% averages, in (0, 100]. */
  k?: number;
  field?: string;
  labelField?: string;
  /** The first N examples only. */
  limit?: number;
  /** Examples listed by difference. */
  top?: number;
  /** Tokens per example at most (the rest is cut); default: the positions both models have, at most 4096. */
  maxTokens?: number;
  /** Rows a forward run holds at most. */
  rows?: number;
  /** Per-example scores as JSON Lines. */
  out?: string;
  /** Replace an existing `out`. */
  force?: boolean;
  onProgress?: (side: "model" | "reference", done: number, total: number) => void;
}

export interface ExampleScore {
  /** Position in the file among its examples, from 0. */
  index: number;
  /** The file and line, element or row. */
  where: string;
  /** The start of the text, whitespace runs as one space. */
  preview: string;
  /** Tokens scored under both models (after any cut), the first included. */
  tokens: number;
  /** Min-K% Prob under the model and the reference (nats; higher = less surprised). */
  model: number;
  reference: number;
  /** model − reference. */
  difference: number;
  label?: 0 | 1;
}

export interface MembershipAuc {
  members: number;
  nonMembers: number;
  /** ROC AUC of each score for telling members (1) from non-members (0), higher = member. */
  model: number;
  reference: number;
  difference: number;
}

export interface ContaminationResult {
  settings: {
    model: string;
    ref: string;
    data: string;
    k: number;
    /** The record fields scored (joined with "\n"); empty for plain text lines. */
    fields: string[];
    labelField?: string;
    maxTokens: number;
    /** Examples scored. */
    examples: number;
    /** Examples cut to maxTokens. */
    cut: number;
    /** Examples passed over with fewer than 2 tokens (nothing to predict). */
    skipped: number;
  };
  model: Distribution;
  reference: Distribution;
  difference: Distribution;
  /** With a label field only. */
  auc?: MembershipAuc;
  /** The examples of largest difference, largest first. */
  top: ExampleScore[];
  /** Every example scored, in file order. */
  examples: ExampleScore[];
}

/** The positions a model takes, from its config (undefined when it does not say). */
function positions(folder: ModelFolder): number | undefined {
  const p = folder.config.max_position_embeddings;
  return typeof p === "number" && p > 0 ? p : undefined;
}

/** --max-tokens as given, checked against both models' positions, or the default. */
function tokenCap(o: ContaminationOptions, model: ModelFolder, ref: ModelFolder): number {
  const limits = [model, ref].flatMap((f) => {
    const p = positions(f);
    return p === undefined ? [] : [{ p, name: f.input }];
  });
  // As eval --perplexity's default context: attention memory grows with the square of the length.
  if (o.maxTokens === undefined) return Math.min(DEFAULT_CONTEXT_CAP, ...limits.map((l) => l.p));
  if (o.maxTokens < 2) throw new UsageError(`--max-tokens ${o.maxTokens}: at least 2 (a token and the next)`);
  for (const l of limits)
    if (o.maxTokens > l.p)
      throw new UsageError(`--max-tokens ${o.maxTokens}: more than the ${l.p} positions of ${l.name}`);
  return o.maxTokens;
}

const preview = (text: string) => text.replace(/\s+/g, " ").trim().slice(0, PREVIEW_CHARS);

async function scoreUnder(
  dir: string,
  side: "model" | "reference",
  sequences: number[][],
  k: number,
  padId: number,
  o: ContaminationOptions,
): Promise<Float64Array> {
  const model = await DecoderModel.load(dir, { device: o.device });
  try {
    return await scoreSequences(model, sequences, (lp) => minKProb(lp, k), {
      rows: o.rows ?? DEFAULT_ROWS,
      padId,
      onProgress: (done, total) => o.onProgress?.(side, done, total),
    });
  } finally {
    await model.release();
  }
}

/**
 * Min-K% Prob of every example of `o.data` under `modelDir` and under `o.ref`, their distributions
 * and difference, the examples of largest difference and, with labels, the membership AUCs.
 * UsageError, before any weights are read, for a k outside (0, 100], a reference with another
 * tokenizer, unreadable or empty data, a record without its text field.
 */
export async function contamination(modelDir: string, o: ContaminationOptions): Promise<ContaminationResult> {
  const k = o.k ?? DEFAULT_K;
  if (!(k > 0 && k <= 100))
    throw new UsageError(`--k ${k}: must be more than 0 and at most 100 (a percentage)`);
  const top = o.top ?? DEFAULT_TOP;
  if (o.rows !== undefined && o.rows < 1) throw new UsageError(`--batch ${o.rows}: at least 1`);
  if (o.out !== undefined) checkScoresFile(o.out, !!o.force);

  const modelFolder = await openModelFolder(modelDir);
  const refFolder = await openModelFolder(o.ref);
  const { texts, fields } = await readTexts(o.data, {
    field: o.field,
    labelField: o.labelField,
    limit: o.limit,
  });
  const tokenizer = await loadTokenizer(modelFolder.dir);
  checkSameTokenizer(
    `--ref ${o.ref}`,
    { folder: modelFolder, tokenizer },
    { folder: refFolder, tokenizer: await loadTokenizer(refFolder.dir) },
  );
  const maxTokens = tokenCap(o, modelFolder, refFolder);

  // Tokenized once, as the model's tokenizer does by default (BOS where it adds one): the first
  // token is never scored, so with a BOS every token of the text is.
  const kept: { index: number; tokens: number[] }[] = [];
  let cut = 0;
  texts.forEach((t, index) => {
    let tokens = tokenizer.encode(t.text);
    if (tokens.length < 2) return;
    if (tokens.length > maxTokens) {
      tokens = tokens.slice(0, maxTokens);
      cut++;
    }
    kept.push({ index, tokens });
  });
  if (kept.length === 0)
    throw new UsageError(
      `${o.data}: no example of at least 2 tokens to score (${countOf(texts.length, "example")})`,
    );
  const labels = kept.map((e) => texts[e.index]!.label);
  let members = 0;
  if (o.labelField !== undefined) {
    members = labels.filter((l) => l === 1).length;
    if (members === 0 || members === kept.length)
      throw new UsageError(
        `--label-field ${o.labelField}: every example scored is labelled ${members === 0 ? "0 (not seen)" : "1 (seen)"}; the AUC needs both`,
      );
  }

  const padId = tokenizer.padId ?? tokenizer.eosIds[0] ?? 0;
  const sequences = kept.map((e) => e.tokens);
  const underModel = await scoreUnder(modelFolder.dir, "model", sequences, k, padId, o);
  const underRef = await scoreUnder(refFolder.dir, "reference", sequences, k, padId, o);

  const examples: ExampleScore[] = kept.map((e, i) => {
    const score: ExampleScore = {
      index: e.index,
      where: texts[e.index]!.where,
      preview: preview(texts[e.index]!.text),
      tokens: e.tokens.length,
      model: underModel[i]!,
      reference: underRef[i]!,
      difference: underModel[i]! - underRef[i]!,
    };
    if (labels[i] !== undefined) score.label = labels[i];
    return score;
  });
  const difference = examples.map((e) => e.difference);
  let auc: MembershipAuc | undefined;
  if (o.labelField !== undefined) {
    const l = labels as (0 | 1)[];
    auc = {
      members,
      nonMembers: examples.length - members,
      model: rocAuc(underModel, l),
      reference: rocAuc(underRef, l),
      difference: rocAuc(difference, l),
    };
  }
  const result: ContaminationResult = {
    settings: {
      model: modelDir,
      ref: o.ref,
      data: o.data,
      k,
      fields,
      ...(o.labelField === undefined ? {} : { labelField: o.labelField }),
      maxTokens,
      examples: examples.length,
      cut,
      skipped: texts.length - kept.length,
    },
    model: distribution(underModel),
    reference: distribution(underRef),
    difference: distribution(difference),
    ...(auc === undefined ? {} : { auc }),
    top: [...examples].sort((a, b) => b.difference - a.difference || a.index - b.index).slice(0, top),
    examples,
  };
  if (o.out !== undefined) await writeScores(o.out, examples, !!o.force);
  return result;
}
