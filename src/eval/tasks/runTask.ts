// One task on one model: read its documents, pick each one's few-shot examples, build the prompts,
// tokenize them as the harness does, score them in batches and aggregate the metrics, optionally
// writing every scored document to a JSONL log.
import { createWriteStream, mkdirSync, openSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { OutputError, UsageError } from "../../errors.js";
import type { DecoderModel } from "../../nn/decoderModel.js";
import { greedyBatches } from "../../nn/generate.js";
import type { Tokenizer } from "../../tokenizer/loadTokenizer.js";
import { exactMatch, regexExtract, stopAt } from "./answerFilters.js";
import { processDocs } from "./docProcessors.js";
import { pyRstrip } from "./pythonStr.js";
import { pickShots, type ShotPool } from "./fewshot.js";
import { type Instance, InstanceBuilder } from "./instances.js";
import { loglikelihoods, type TokenRequest } from "./loglikelihood.js";
import { choiceScores, meanWithStderr, type MetricValue, rollingScores } from "./metrics.js";
import { type Doc, readDocs } from "./readDocs.js";
import { evalFiles, fewshotFile } from "./taskFiles.js";
import type { TaskSpec } from "./taskSpec.js";

export interface EvalModel {
  model: DecoderModel;
  tokenizer: Tokenizer;
  /** Longest sequence scored or generated (the model's positions, or less). */
  maxLength: number;
  /** Put BOS before every context (the harness's add_bos_token; off by default, as there). */
  addBos: boolean;
}

export interface TaskRunOptions {
  /** The first n documents of each file only. */
  limit?: number;
  /** Overrides the task's num_fewshot. */
  shots?: number;
  seed: number;
  /** Tokens per batched run of log-likelihood rows. */
  tokensPerRun: number;
  /** Score the choices of a question over one shared context (off: each choice in its own row). */
  shared: boolean;
  /** Prompts of one length generated side by side at most. */
  genBatch: number;
  /** A few-shot file to use instead of the one found beside the evaluated file. */
  fewshotData?: string;
  /** Folder for TASK.jsonl logs of every scored document. */
  logSamples?: string;
  onProgress?: (task: string, done: number, total: number) => void;
}

/** Documents held in memory (the tiny suite builds its own). */
export interface DocSet {
  docs: Doc[];
  where: (i: number) => string;
  source: string;
}

export interface TaskResult {
  task: string;
  source: string;
  documents: number;
  shots: number;
  /** Where the few-shot examples came from. */
  fewshotSource?: string;
  metrics: Record<string, MetricValue>;
  /** The metric a suite table shows. */
  main: string;
  /** Generation tasks: the tokens generated (for throughput). */
  generatedTokens?: number;
  subtasks?: TaskResult[];
}

async function readSet(spec: TaskSpec, path: string): Promise<DocSet> {
  const r = await readDocs(path, { columns: spec.columns });
  return { ...r, source: path };
}

function processed(spec: TaskSpec, set: DocSet, subject?: string): DocSet {
  const docs =
    subject === undefined ? set.docs : set.docs.map((d) => ({ ...d, subject: subject.replaceAll("_", " ") }));
  return { ...set, docs: spec.process_docs ? processDocs(spec.process_docs, docs, set.where) : docs };
}

/** Runs `spec` on the file or folder at `path`: one result, with sub-tasks for a folder of subjects. */
export async function runTaskOnPath(
  m: EvalModel,
  spec: TaskSpec,
  path: string,
  o: TaskRunOptions,
): Promise<TaskResult> {
  const files = evalFiles(spec, path);
  const shots = o.shots ?? spec.num_fewshot;
  const results: TaskResult[] = [];
  for (const f of files) {
    const evalSet = processed(spec, await readSet(spec, f.path), f.subject);
    let pool: DocSet | undefined;
    if (shots > 0) {
      const shotPath = o.fewshotData ?? fewshotFile(spec, f);
      // The evaluated file named as its own pool is the evaluated set: the scored document is left out.
      if (shotPath && realpathSync(shotPath) !== realpathSync(f.path))
        pool = processed(spec, await readSet(spec, shotPath), f.subject);
    }
    const name = files.length > 1 || f.subject ? `${spec.task}_${f.subject ?? results.length}` : spec.task;
    results.push(await runTask(m, { ...spec, task: name }, evalSet, pool, o));
  }
  if (!statSync(path).isDirectory()) return results[0]!;
  // A group: each metric the plain mean over its sub-tasks, as the Open LLM Leaderboard v1 averaged
  // MMLU's subjects (the harness today weights them by size; the documents count is given).
  // The mean of independent sub-task means: its standard error is √(Σ stderrᵢ²) ÷ k.
  const metrics: Record<string, MetricValue> = {};
  const k = results.length;
  for (const name of Object.keys(results[0]!.metrics)) {
    const value = results.reduce((a, r) => a + r.metrics[name]!.value, 0) / k;
    const errs = results.map((r) => r.metrics[name]!.stderr);
    metrics[name] = errs.every((e) => e !== undefined)
      ? { value, stderr: Math.sqrt(errs.reduce((a, e) => a + e! ** 2, 0)) / k }
      : { value };
  }
  return {
    task: spec.task,
    source: path,
    documents: results.reduce((a, r) => a + r.documents, 0),
    shots,
    fewshotSource:
      [...new Set(results.map((r) => r.fewshotSource))].length === 1
        ? results[0]!.fewshotSource
        : "each subject's own file",
    metrics,
    main: results[0]!.main,
    subtasks: results,
  };
}

/** Runs `spec` over documents in memory; `pool` gives the few-shot examples (else the documents). */
export async function runTask(
  m: EvalModel,
  spec: TaskSpec,
  evalSet: DocSet,
  pool: DocSet | undefined,
  o: TaskRunOptions,
): Promise<TaskResult> {
  const shots = o.shots ?? spec.num_fewshot;
  const docs = evalSet.docs.slice(0, o.limit ?? evalSet.docs.length);
  if (docs.length === 0) throw new UsageError(`${spec.task}: ${evalSet.source} holds no documents`);
  const shotPool: ShotPool<Doc> = pool
    ? { items: pool.docs, isEvalSet: false, source: pool.source }
    : { items: evalSet.docs, isEvalSet: true, source: evalSet.source };
  const poolWhere = pool ? pool.where : evalSet.where;
  const builder = new InstanceBuilder(spec);
  const instances: Instance[] = docs.map((doc, i) => {
    const picked = pickShots(shotPool, shots, spec.fewshot_sampler, i, o.seed, spec.task);
    return builder.instance(
      doc,
      evalSet.where(i),
      picked.map((k) => ({ doc: shotPool.items[k]!, where: poolWhere(k) })),
    );
  });
  const log = o.logSamples ? sampleLog(o.logSamples, spec.task) : undefined;
  const progress = (done: number) => o.onProgress?.(spec.task, done, docs.length);
  let metrics: Record<string, MetricValue>;
  let generatedTokens: number | undefined;
  try {
    const scoring: Scoring = { m, spec, instances, o, progress, log };
    if (spec.output_type === "multiple_choice") metrics = await scoreChoices(scoring);
    else if (spec.output_type === "generate_until")
      ({ metrics, generatedTokens } = await scoreGenerations(scoring));
    else metrics = await scoreRolling(scoring);
  } finally {
    await log?.close();
  }
  const main =
    spec.output_type === "generate_until" && spec.filters.length > 0
      ? `${spec.main_metric},${spec.filters[0]!.name}`
      : spec.main_metric;
  return {
    task: spec.task,
    source: evalSet.source,
    documents: docs.length,
    shots,
    fewshotSource:
      shots === 0
        ? undefined
        : pool
          ? pool.source
          : `${evalSet.source} itself (no train split found; the scored document left out): not comparable with published scores`,
    metrics,
    main,
    generatedTokens,
  };
}

interface SampleLog {
  write(record: Record<string, unknown>): void;
  close(): Promise<void>;
}

function sampleLog(dir: string, task: string): SampleLog {
  const file = join(dir, `${task}.jsonl`);
  const fail = (e: unknown) =>
    new OutputError(`--log-samples: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  let fd: number;
  try {
    // Opened here, so a folder that cannot be written fails before any scoring.
    mkdirSync(dir, { recursive: true });
    fd = openSync(file, "w");
  } catch (e) {
    throw fail(e);
  }
  const out = createWriteStream("", { fd });
  let failed: unknown;
  out.on("error", (e) => (failed ??= e));
  return {
    write: (r) => out.write(JSON.stringify(r) + "\n"),
    close: () =>
      new Promise((resolve, reject) =>
        out.end(() => (failed === undefined ? resolve() : reject(fail(failed)))),
      ),
  };
}

/** The harness's tokenization of a request: trailing spaces of the context move to the
 * continuation, the continuation is what encoding the whole adds after the context's tokens. */
export function encodePair(m: EvalModel, context: string, continuation: string): TokenRequest {
  const spaces = context.length - pyRstrip(context).length;
  if (spaces > 0) {
    continuation = context.slice(-spaces) + continuation;
    context = context.slice(0, -spaces);
  }
  const enc = (s: string) => m.tokenizer.encode(s, { addSpecialTokens: false });
  const prefix = m.addBos || context === "" ? [prefixToken(m)] : [];
  const whole = enc(context + continuation);
  const ctx = enc(context);
  return { context: [...prefix, ...ctx], continuation: whole.slice(ctx.length) };
}

function prefixToken(m: EvalModel): number {
  const id = m.tokenizer.bosId ?? m.tokenizer.eosIds[0];
  if (id === undefined)
    throw new UsageError(
      `${m.tokenizer.dir}: the tokenizer has neither a BOS nor an EOS token to start a text with`,
    );
  return id;
}

/** Log-likelihoods of `requests` at the model's length; `progress` gets the fraction done. */
function scoreRequests(
  m: EvalModel,
  requests: TokenRequest[],
  tokensPerRun: number,
  shared: boolean,
  progress: (fraction: number) => void,
): Promise<Float64Array> {
  return loglikelihoods(m.model, requests, {
    maxLength: m.maxLength,
    tokensPerRun,
    padId: m.tokenizer.padId ?? m.tokenizer.eosIds[0] ?? 0,
    shared,
    onProgress: (done) => progress(done / requests.length),
  });
}

/** What each kind of scoring works from. */
interface Scoring {
  m: EvalModel;
  spec: TaskSpec;
  instances: Instance[];
  o: TaskRunOptions;
  progress: (done: number) => void;
  log?: SampleLog;
}

async function scoreChoices({
  m,
  spec,
  instances,
  o,
  progress,
  log,
}: Scoring): Promise<Record<string, MetricValue>> {
  const requests: TokenRequest[] = [];
  const first: number[] = [];
  for (const inst of instances) {
    if (inst.kind !== "multiple_choice") continue;
    first.push(requests.length);
    for (const r of inst.requests) requests.push(encodePair(m, r.context, r.continuation));
  }
  const ll = await scoreRequests(m, requests, o.tokensPerRun, o.shared, (f) =>
    progress(Math.floor(f * instances.length)),
  );
  const per: Record<string, number[]> = { acc: [], acc_norm: [], mc2: [] };
  instances.forEach((inst, d) => {
    if (inst.kind !== "multiple_choice") return;
    const lls = Array.from(ll.subarray(first[d]!, first[d]! + inst.requests.length));
    const s = choiceScores(lls, inst.choices, inst.gold);
    per.acc!.push(s.acc);
    per.acc_norm!.push(s.acc_norm);
    per.mc2!.push(s.mc2);
    log?.write({
      doc: d,
      requests: inst.requests,
      choices: inst.choices,
      loglikelihoods: lls,
      gold: inst.gold.length === 1 ? inst.gold[0] : inst.gold,
      prediction: s.prediction,
      ...Object.fromEntries(spec.metrics.map((k) => [k, s[k as "acc" | "acc_norm" | "mc2"]])),
    });
  });
  return Object.fromEntries(spec.metrics.map((k) => [k, meanWithStderr(per[k]!)]));
}

async function scoreGenerations({
  m,
  spec,
  instances,
  o,
  progress,
  log,
}: Scoring): Promise<{ metrics: Record<string, MetricValue>; generatedTokens: number }> {
  const maxGen = Math.min(spec.max_gen_toks, m.maxLength - 1);
  const prompts = instances.map((inst) => {
    if (inst.kind !== "generate_until") throw new Error("not a generation");
    const ids = m.tokenizer.encode(inst.context, { addSpecialTokens: false });
    const full = m.addBos ? [prefixToken(m), ...ids] : ids;
    // As the harness: the context is cut from the left to leave room for max_gen_toks.
    return full.slice(-(m.maxLength - maxGen));
  });
  const decode = (ids: readonly number[]) => m.tokenizer.decode([...ids], { skipSpecialTokens: true });
  const outs = await greedyBatches(m.model, prompts, {
    maxTokens: maxGen,
    stopIds: m.tokenizer.eosIds,
    batch: o.genBatch,
    stopped: (out) => spec.until.some((s) => decode(out).includes(s)),
    onProgress: progress,
  });
  const generatedTokens = outs.reduce((a, row) => a + row.length, 0);
  const texts = outs.map((row) => stopAt(decode(row), spec.until));
  const opts = {
    ignoreCase: spec.ignore_case,
    ignorePunctuation: spec.ignore_punctuation,
    regexesToIgnore: spec.regexes_to_ignore,
  };
  const pipelines = spec.filters.length > 0 ? spec.filters : [undefined];
  const per: Record<string, number[]> = {};
  instances.forEach((inst, d) => {
    if (inst.kind !== "generate_until") return;
    const record: Record<string, unknown> = {
      doc: d,
      context: inst.context,
      generation: texts[d],
      gold: inst.gold,
    };
    for (const f of pipelines) {
      const answer = f
        ? regexExtract(texts[d]!, f.regex, { groupSelect: f.group_select, fallback: f.fallback })
        : texts[d]!;
      const key = f ? `exact_match,${f.name}` : "exact_match";
      const score = exactMatch(answer, inst.gold, opts);
      (per[key] ??= []).push(score);
      record[f ? `answer,${f.name}` : "answer"] = answer;
      record[key] = score;
    }
    log?.write(record);
  });
  return {
    metrics: Object.fromEntries(Object.entries(per).map(([k, xs]) => [k, meanWithStderr(xs)])),
    generatedTokens,
  };
}

/**
 * The harness's rolling windows (get_rolling_token_windows, context length 1) over `ids` = a prefix
 * token and the text's tokens: the first window predicts the first L tokens after the prefix; each
 * later one predicts up to L more and sees the L tokens before its last target, so even a short
 * final window reads a full window of text before it. As requests: context, then the scored part.
 */
export function rollingWindows(ids: readonly number[], L: number): TokenRequest[] {
  const n = ids.length - 1; // targets ids[1..n]
  const out: TokenRequest[] = [];
  for (let scored = 0; scored < n;) {
    const to = Math.min(scored + L, n);
    const start = Math.max(0, to - L);
    out.push({ context: ids.slice(start, scored + 1), continuation: ids.slice(scored + 1, to + 1) });
    scored = to;
  }
  return out;
}

async function scoreRolling({
  m,
  instances,
  o,
  progress,
  log,
}: Scoring): Promise<Record<string, MetricValue>> {
  const requests: TokenRequest[] = [];
  const owner: number[] = [];
  const tokens: number[] = [];
  for (const [d, inst] of instances.entries()) {
    if (inst.kind !== "loglikelihood_rolling") continue;
    const ids = [prefixToken(m), ...m.tokenizer.encode(inst.text, { addSpecialTokens: false })];
    tokens[d] = ids.length - 1;
    for (const w of rollingWindows(ids, m.maxLength)) {
      requests.push(w);
      owner.push(d);
    }
  }
  // Every window of every document in one batched pass.
  const ll = await scoreRequests(m, requests, Math.max(o.tokensPerRun, m.maxLength), false, (f) =>
    progress(Math.floor(f * instances.length)),
  );
  const sums = new Float64Array(instances.length);
  owner.forEach((d, r) => (sums[d] = sums[d]! + ll[r]!));
  const docs = instances.flatMap((inst, d) => {
    if (inst.kind !== "loglikelihood_rolling") return [];
    log?.write({ doc: d, tokens: tokens[d], loglikelihood: sums[d] });
    return [{ ll: sums[d]!, text: inst.text }];
  });
  return rollingScores(docs);
}
