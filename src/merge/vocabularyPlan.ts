// The vocabulary side of a merge (mergekit's BuildTokenizer and PermutedEmbeddings): the output
// vocabulary, and for every model a permutation from output ids to its own embedding rows, with
// the row each model takes for a token it lacks (or for every model, when forced).
//
// mergekit's rules, followed here:
// - A model's tokens with ids at or past its embedding's rows are dropped (padding ids).
// - Output tokens: union (the base's, else the first model's, vocabulary with the others' tokens
//   appended, tokenizer/unionVocabulary.ts), base, or a model's; then the `tokens:` keys it lacks.
// - The default row of a token some model lacks, over every model of the config (base included):
//   the configured source if `tokens:` names it; else the one model that has it; none: zeros; the
//   base model's row if several have it and the base is one; else the mean of their rows.
// - A model takes its own row unless it lacks the token or the token is forced; otherwise the
//   default row. The merge method then runs over the aligned rows as over any tensor (a task vector
//   of a row the model lacked is the default row minus the base's).
// - pad_to_multiple_of: the rows are padded up to a multiple; each model's padding rows are the
//   mean of its own aligned rows, before the merge; config.json's vocab_size counts the padding.
//
// deepen differs where mergekit's behaviour is not specified or fails late: every check (a token
// or model a `tokens:` source names, a token_id out of range) is made before anything is written;
// a `tokens:` entry without a source is refused (mergekit fails mid-merge); tokenizer_source must
// be a model of the config (mergekit loads any path's tokenizer). When tokenizer_source is base or
// a model and every model already reads that vocabulary with the same rows, the embeddings merge
// as they always did, padding rows kept (mergekit cuts them to the tokenizer's length).
import type { LayerLayout } from "../arch/layerLayout.js";
import type { RecipeError } from "../errors.js";
import { type OutputVocabulary, outputVocabulary } from "../tokenizer/unionVocabulary.js";
import { readVocabulary, type Vocabulary, withinRows } from "../tokenizer/vocabulary.js";
import type { MergeConfig } from "./mergeConfig.js";

/** A row of one model's embedding (or head), by its own id. */
export interface ModelRow {
  model: number;
  row: number;
}

/** Where a token's default row comes from. */
export type DefaultRow =
  { kind: "zero" } | { kind: "row"; from: ModelRow } | { kind: "mean"; from: ModelRow[] };

export interface VocabularyPlan {
  /** Output tokens (the tokenizer's length). */
  tokens: number;
  /** Output rows: tokens, padded up to pad_to_multiple_of. */
  rows: number;
  /** Per model of the config (plan.refs): output id → its own row, −1 where it lacks the token. */
  perm: Int32Array[];
  /** Output ids every model takes the default row for. */
  forced: Set<number>;
  /** Default rows of the output ids some model lacks or that are forced. */
  defaults: Map<number, DefaultRow>;
  /** The model whose tokenizer files the output carries. */
  tokenizerFrom: number;
  /** Added tokens to append to those files (union, and `tokens:` keys the vocabulary lacks). */
  appended: OutputVocabulary["appended"];
}

/**
 * The vocabulary plan of `config`, or undefined when the embeddings merge row for row as before (no
 * tokenizer setting, or base/a model that every model already matches). `embedRows[m]` is model
 * m's embedding rows.
 */
export async function planVocabulary(
  config: MergeConfig,
  refs: string[],
  layouts: LayerLayout[],
  base: number | undefined,
  embedRows: number[],
  fail: (d: string) => RecipeError,
): Promise<VocabularyPlan | undefined> {
  const spec = config.tokenizer;
  if (!spec) return undefined;
  const modelIndex = (ref: string, where: string) => {
    const i = refs.indexOf(ref);
    if (i < 0) throw fail(`${where} ${ref} is not a model of this config`);
    return i;
  };
  const first = base ?? 0;
  let from = first;
  if (spec.source.kind === "base") {
    if (base === undefined) throw fail("tokenizer_source: base needs a base_model");
  } else if (spec.source.kind === "model") {
    from = modelIndex(spec.source.model, spec.section ? "tokenizer.source" : "tokenizer_source");
  }
  const vocabs: Vocabulary[] = [];
  const past: string[][] = []; // per model, tokens at ids past its embedding's rows
  for (let m = 0; m < refs.length; m++) {
    try {
      const all = await readVocabulary(layouts[m]!.model.dir);
      const kept = withinRows(all, embedRows[m]!);
      vocabs.push(kept);
      past.push([...all.ids.keys()].filter((t) => !kept.ids.has(t)));
    } catch (e) {
      throw fail(`model ${refs[m]}: ${(e as Error).message}`);
    }
  }
  const union = spec.source.kind === "union";
  const order = union ? [first, ...refs.keys()].filter((m, i, all) => all.indexOf(m) === i) : [from];
  // The output carries this model's tokenizer files and extends them: a token it keeps past its rows
  // would share an id with an appended token (or point past the merged embedding). mergekit rewrites
  // the whole tokenizer without them; deepen carries files as they are, so it refuses instead.
  const carriedPast = past[order[0]!]!;
  if (carriedPast.length > 0)
    throw fail(
      `model ${refs[order[0]!]}: its tokenizer has ${carriedPast.length} token(s) at ids past its ${embedRows[order[0]!]} embedding rows ` +
        `(${JSON.stringify(carriedPast[0])}, …); the merged vocabulary cannot be written on top of them: take the tokenizer from another model`,
    );
  let out: OutputVocabulary;
  try {
    out = outputVocabulary(
      vocabs[order[0]!]!,
      order.slice(1).map((m) => vocabs[m]!),
      union,
      spec.tokens.keys(),
    );
  } catch (e) {
    throw fail(`model ${refs[order[0]!]}: ${(e as Error).message}`);
  }
  const perm = vocabs.map((v) => Int32Array.from(out.tokens, (t) => v.ids.get(t) ?? -1));
  const identity = (p: Int32Array, m: number) =>
    embedRows[m] === embedRows[from] &&
    p.every((row, id) => row === id) &&
    vocabs[m]!.ids.size === out.tokens.length;
  if (!spec.section && !union && out.appended.length === 0 && perm.every(identity)) return undefined;

  const forced = new Set<number>();
  const defaults = new Map<number, DefaultRow>();
  const idOf = new Map(out.tokens.map((t, id) => [t, id]));
  for (const [token, setting] of spec.tokens) {
    const id = idOf.get(token)!;
    if (setting.force) forced.add(id);
    const where = `tokenizer.tokens.${token}`;
    const s = setting.source;
    if (s.kind === "zero") {
      defaults.set(id, { kind: "zero" });
      continue;
    }
    const m = modelIndex(s.model, `${where}: model`);
    let row: number | undefined;
    if (s.kind === "model") {
      row = perm[m]![id]! >= 0 ? perm[m]![id] : undefined;
      if (row === undefined)
        throw fail(`${where}: token ${JSON.stringify(token)} is not in ${s.model}'s vocabulary`);
    } else if (s.token !== undefined) {
      row = vocabs[m]!.ids.get(s.token);
      if (row === undefined)
        throw fail(`${where}: token ${JSON.stringify(s.token)} is not in ${s.model}'s vocabulary`);
    } else {
      row = s.tokenId!;
      if (row >= embedRows[m]!)
        throw fail(`${where}: token_id ${row} is past ${s.model}'s ${embedRows[m]} embedding rows`);
    }
    defaults.set(id, { kind: "row", from: { model: m, row } });
  }
  for (let id = 0; id < out.tokens.length; id++) {
    if (defaults.has(id)) continue;
    const having = perm.flatMap((p, model) => (p[id]! >= 0 ? [{ model, row: p[id]! }] : []));
    if (having.length === perm.length) continue; // every model takes its own row
    if (having.length === 1) defaults.set(id, { kind: "row", from: having[0]! });
    else if (having.length === 0) defaults.set(id, { kind: "zero" });
    else {
      const fromBase = having.find((h) => h.model === base);
      defaults.set(id, fromBase ? { kind: "row", from: fromBase } : { kind: "mean", from: having });
    }
  }
  const multiple = spec.padToMultipleOf ?? 1;
  return {
    tokens: out.tokens.length,
    rows: Math.ceil(out.tokens.length / multiple) * multiple,
    perm,
    forced,
    defaults,
    tokenizerFrom: order[0]!,
    appended: out.appended,
  };
}

/** The default row of output id `id` for tensor rows read by `row(model, row)`, as float32. */
export function defaultRow(d: DefaultRow, width: number, row: (r: ModelRow) => Float32Array): Float32Array {
  if (d.kind === "zero") return new Float32Array(width);
  if (d.kind === "row") return row(d.from);
  // mergekit sums in the tensors' dtype and divides once; here in float64, rounded once.
  const sum = new Float64Array(width);
  for (const r of d.from) {
    const v = row(r);
    for (let i = 0; i < width; i++) sum[i]! += v[i]!;
  }
  return Float32Array.from(sum, (x) => x / d.from.length);
}
