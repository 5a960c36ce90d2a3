// A task as data: the YAML a task file holds, in lm-evaluation-harness's vocabulary (doc_to_text,
// doc_to_choice, doc_to_target, target_delimiter, fewshot_delimiter, num_fewshot, generation_kwargs'
// until, filters) so a harness user can read it, checked once when read. The built-in tasks
// (tasks/*.yaml beside the package) are files of this kind too: a new benchmark is a file, not code.
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../../errors.js";
import { isMapping, readYamlMapping, type YamlMapping } from "../../mergekit/mergekitYaml.js";
import { DOC_PROCESSORS } from "./docProcessors.js";

export const OUTPUT_TYPES = ["multiple_choice", "generate_until", "loglikelihood_rolling"] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

/** The metrics each kind of scoring reports. */
export const METRICS: Record<OutputType, readonly string[]> = {
  multiple_choice: ["acc", "acc_norm", "mc2"],
  generate_until: ["exact_match"],
  loglikelihood_rolling: ["word_perplexity", "byte_perplexity", "bits_per_byte"],
};

/** A regex filter on generations (the harness's `regex` filter, then take_first). */
export interface AnswerFilter {
  name: string;
  regex: string;
  group_select: number;
  fallback: string;
}

export interface TaskSpec {
  task: string;
  output_type: OutputType;
  /** Where the spec came from, for errors. */
  file: string;
  /** Put before the few-shot examples; a template (MMLU's names the doc's subject). */
  description: string;
  /** A named doc processor (docProcessors.ts), the harness's process_docs. */
  process_docs?: string;
  /** Column names of a headerless CSV (MMLU's files). */
  columns?: string[];
  /** The context (multiple choice, generation) or the whole document (rolling). */
  doc_to_text: string;
  /** Multiple choice: a template that evaluates to the list of choices, or a list of templates. */
  doc_to_choice?: string | string[];
  /** Multiple choice: the gold, an index or a label; generation: the reference answer (and the
   * answer a few-shot example shows). MC2: the list of 0/1 labels of the choices. */
  doc_to_target?: string;
  /** Labels a gold that is not a number is looked up in (ARC's answerKey among A–E or 1–5). */
  choice_labels?: string;
  /** Partial scoring (Winogrande): the choices are contexts, and this shared continuation is scored. */
  doc_to_continuation?: string;
  target_delimiter: string;
  fewshot_delimiter: string;
  num_fewshot: number;
  fewshot_sampler: "random" | "first_n";
  /** Names of the few-shot file beside the evaluated one ({subject} and * allowed). */
  fewshot_files: string[];
  /** In a folder: the evaluated files ({subject} and * allowed), one sub-task each. */
  eval_files: string[];
  metrics: string[];
  /** The metric a suite's table and average use. */
  main_metric: string;
  until: string[];
  max_gen_toks: number;
  filters: AnswerFilter[];
  ignore_case: boolean;
  ignore_punctuation: boolean;
  regexes_to_ignore: string[];
}

/** A generation this long at most unless a task says: the harness's max_gen_toks default. */
export const DEFAULT_MAX_GEN_TOKS = 256;

const BUILTIN_DIR = fileURLToPath(new URL("../../../../tasks", import.meta.url));

/** Names of the built-in tasks. */
export function builtinTaskNames(): string[] {
  if (!existsSync(BUILTIN_DIR)) return [];
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => basename(f, ".yaml"))
    .sort();
}

/** A built-in task by name, or a task file by path. */
export async function loadTask(nameOrFile: string): Promise<TaskSpec> {
  if (/\.ya?ml$/i.test(nameOrFile)) {
    if (!existsSync(nameOrFile)) throw new UsageError(`${nameOrFile}: no such task file`);
    return readTaskFile(nameOrFile);
  }
  const file = join(BUILTIN_DIR, `${nameOrFile}.yaml`);
  if (!existsSync(file))
    throw new UsageError(
      `unknown task ${nameOrFile}: built-in tasks are ${builtinTaskNames().join(", ")}; or give a task file (.yaml)`,
    );
  return readTaskFile(file);
}

const KEYS = new Set([
  "task",
  "output_type",
  "description",
  "process_docs",
  "columns",
  "doc_to_text",
  "doc_to_choice",
  "doc_to_target",
  "choice_labels",
  "doc_to_continuation",
  "target_delimiter",
  "fewshot_delimiter",
  "num_fewshot",
  "fewshot_sampler",
  "fewshot_files",
  "eval_files",
  "metric_list",
  "main_metric",
  "generation_kwargs",
  "filters",
  "exact_match",
]);

export async function readTaskFile(file: string): Promise<TaskSpec> {
  const { doc } = await readYamlMapping(file, "a task (task, output_type, doc_to_text, …)");
  return parseTask(doc, file);
}

/** Checks a task mapping and fills the harness's defaults. */
export function parseTask(doc: YamlMapping, file: string): TaskSpec {
  const fail = (d: string) => new UsageError(`${file}: ${d}`);
  for (const k of Object.keys(doc)) if (!KEYS.has(k)) throw fail(`unknown key ${k}`);
  const str = (k: string, required: boolean): string | undefined => {
    const v = doc[k];
    if (v === undefined || v === null) {
      if (required) throw fail(`${k} is required`);
      return undefined;
    }
    if (typeof v !== "string") throw fail(`${k} must be a string`);
    return v;
  };
  const strList = (v: unknown, k: string): string[] => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
      throw fail(`${k} must be a list of strings`);
    return v as string[];
  };
  const task = str("task", true)!;
  if (!/^[A-Za-z0-9_.-]+$/.test(task)) throw fail(`task ${task}: letters, digits, _ . - only`);
  const outputType = str("output_type", true)! as OutputType;
  if (!OUTPUT_TYPES.includes(outputType))
    throw fail(`output_type ${outputType}: expected one of ${OUTPUT_TYPES.join(", ")}`);
  const processDocs = str("process_docs", false);
  if (processDocs !== undefined && !Object.hasOwn(DOC_PROCESSORS, processDocs))
    throw fail(`process_docs ${processDocs}: known are ${Object.keys(DOC_PROCESSORS).join(", ")}`);
  const choice = doc.doc_to_choice;
  if (outputType === "multiple_choice" && choice === undefined) throw fail("doc_to_choice is required");
  if (choice !== undefined && typeof choice !== "string") strList(choice, "doc_to_choice");
  if (outputType !== "loglikelihood_rolling" && doc.doc_to_target === undefined)
    throw fail("doc_to_target is required");
  const shots = doc.num_fewshot ?? 0;
  if (!Number.isInteger(shots) || (shots as number) < 0) throw fail("num_fewshot must be a whole number");
  const sampler = str("fewshot_sampler", false) ?? "random";
  if (sampler !== "random" && sampler !== "first_n")
    throw fail(`fewshot_sampler ${sampler}: random or first_n`);

  const metricList = doc.metric_list === undefined ? [...METRICS[outputType]] : doc.metric_list;
  const metrics = (Array.isArray(metricList) ? metricList : []).map((m) =>
    isMapping(m) && typeof m.metric === "string" ? m.metric : m,
  );
  if (!Array.isArray(metricList) || metrics.length === 0 || metrics.some((m) => typeof m !== "string"))
    throw fail("metric_list must be a list of metric names");
  for (const m of metrics as string[])
    if (!METRICS[outputType].includes(m))
      throw fail(`metric ${m} is not one ${outputType} reports (${METRICS[outputType].join(", ")})`);
  if ((metrics as string[]).includes("mc2") && doc.doc_to_continuation !== undefined)
    throw fail("mc2 and partial scoring (doc_to_continuation) do not go together");

  const gen = doc.generation_kwargs ?? {};
  if (!isMapping(gen)) throw fail("generation_kwargs must be a mapping");
  const until = gen.until === undefined ? [] : strList(gen.until, "generation_kwargs.until");
  if (outputType === "generate_until" && until.length === 0)
    throw fail("a generation task needs generation_kwargs.until: the stop sequences");
  const maxGen = gen.max_gen_toks ?? DEFAULT_MAX_GEN_TOKS;
  if (!Number.isInteger(maxGen) || (maxGen as number) < 1)
    throw fail("max_gen_toks must be a positive integer");

  const filters = (doc.filters ?? []) as unknown;
  if (!Array.isArray(filters)) throw fail("filters must be a list");
  const parsedFilters = filters.map((f, i): AnswerFilter => {
    if (!isMapping(f) || typeof f.name !== "string" || typeof f.regex !== "string")
      throw fail(`filters[${i}] needs a name and a regex`);
    try {
      new RegExp(f.regex);
    } catch (e) {
      throw fail(`filters[${i}].regex: ${(e as Error).message}`);
    }
    return {
      name: f.name,
      regex: f.regex,
      group_select: typeof f.group_select === "number" ? f.group_select : 0,
      fallback: typeof f.fallback === "string" ? f.fallback : "[invalid]",
    };
  });
  const em = doc.exact_match ?? {};
  if (!isMapping(em)) throw fail("exact_match must be a mapping");
  const metricNames = metrics as string[];
  const main = str("main_metric", false) ?? metricNames[0]!;
  if (!metricNames.includes(main)) throw fail(`main_metric ${main} is not in metric_list`);
  const columns = doc.columns === undefined ? undefined : strList(doc.columns, "columns");
  return {
    task,
    output_type: outputType,
    file,
    description: str("description", false) ?? "",
    process_docs: processDocs,
    columns,
    doc_to_text:
      str("doc_to_text", outputType !== "multiple_choice" || doc.doc_to_continuation === undefined) ?? "",
    doc_to_choice: choice as string | string[] | undefined,
    doc_to_target: str("doc_to_target", false),
    choice_labels: str("choice_labels", false),
    doc_to_continuation: str("doc_to_continuation", false),
    target_delimiter: str("target_delimiter", false) ?? " ",
    fewshot_delimiter: str("fewshot_delimiter", false) ?? "\n\n",
    num_fewshot: shots as number,
    fewshot_sampler: sampler,
    fewshot_files: doc.fewshot_files === undefined ? [] : strList(doc.fewshot_files, "fewshot_files"),
    eval_files: doc.eval_files === undefined ? [] : strList(doc.eval_files, "eval_files"),
    metrics: metricNames,
    main_metric: main,
    until,
    max_gen_toks: maxGen as number,
    filters: parsedFilters,
    ignore_case: em.ignore_case === true,
    ignore_punctuation: em.ignore_punctuation === true,
    regexes_to_ignore:
      em.regexes_to_ignore === undefined
        ? []
        : strList(em.regexes_to_ignore, "exact_match.regexes_to_ignore"),
  };
}
