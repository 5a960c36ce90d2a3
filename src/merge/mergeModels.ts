// `deepen merge CONFIG.yml -o OUT`: mergekit-compatible merges, streamed one tensor name at a time.
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { type LayerMap, rewriteConfig } from "../arch/rewriteConfig.js";
import { withAtomicOutput, checkOutputTarget } from "../checkpoint/atomicOutput.js";
import { finiteOnly } from "../checkpoint/finiteCheck.js";
import { writeFolderFiles } from "../checkpoint/folderFiles.js";
import { type Lineage, readParentLineages } from "../checkpoint/lineage.js";
import { numel } from "../checkpoint/safetensorsHeader.js";
import { writeShards } from "../checkpoint/writeShards.js";
import type { ModelConfig } from "../checkpoint/modelFolder.js";
import { BUILTIN_TEMPLATES } from "../tokenizer/builtinTemplates.js";
import { appendAddedTokens } from "../tokenizer/unionVocabulary.js";
import { RecipeError, UsageError } from "../errors.js";
import { formatCount } from "../formatCount.js";
import { upscale } from "../surgery/upscale.js";
import { VERSION } from "../version.js";
import { readMergeConfig } from "./mergeConfig.js";
import { METHODS, methodNamed } from "./methods/registry.js";
import { warnOnStderr } from "../mergekit/unusedParameters.js";
import { mergeTensors, type MergePlan, planMerge } from "./planMerge.js";

export const MERGE_CONFIG_FILE = "mergekit_config.yml";

export interface MergeOptions {
  out?: string;
  seed?: number;
  force?: boolean;
  shardBytes?: number;
  dryRun?: boolean;
  command?: string;
  /** Elements per chunk of streamed merges (default MERGE_CHUNK, 4M); tests use small chunks to cross their edges. */
  chunkElements?: number;
  /** Write tensors that hold Inf or NaN instead of stopping at the first (--allow-nonfinite). */
  allowNonFinite?: boolean;
  onStart?: (totalBytes: number) => void;
  onProgress?: (written: number) => void;
  /** Told, before anything is merged, of each parameter the method ignores (default: stderr). */
  onWarning?: (warning: string) => void;
}

export interface MergeResult {
  method: string;
  models: string[];
  layers: number;
  parameters: number;
  bytes: number;
  tensors: number;
  /** Notes on the output's config (e.g. an explicit layer_types). */
  warnings: string[];
}

/** The layer map of a merge, for config rewriting: each output layer from its first source's layer. */
function layerMapOf(plan: MergePlan): LayerMap {
  const cfg = plan.config;
  const layers = cfg.models
    ? Array.from({ length: plan.layers }, (_, i) => ({ model: plan.reference, layer: i }))
    : cfg.slices!.flatMap((sl) => {
        const s = sl.sources[0]!;
        const [a, b] = s.layerRange!;
        const model = plan.refs.indexOf(s.model);
        return Array.from({ length: b - a }, (_, k) => ({ model, layer: a + k }));
      });
  return { models: plan.layouts, layers, configFrom: plan.reference, dtype: cfg.outDtype ?? cfg.dtype };
}

/** The model whose tokenizer files the output carries (and, across vocabularies, extends). */
function tokenizerModel(plan: MergePlan): number {
  if (plan.vocabulary) return plan.vocabulary.tokenizerFrom;
  const source = plan.config.tokenizer?.source;
  const fail = (d: string) => new RecipeError(plan.config.file, d);
  if (source === undefined) return plan.reference;
  if (source.kind === "base") {
    if (plan.base === undefined) throw fail("tokenizer_source: base needs a base_model");
    return plan.base;
  }
  if (source.kind === "union") return plan.reference; // planMerge always plans a union's vocabulary
  const i = plan.refs.indexOf(source.model);
  if (i < 0) throw fail(`tokenizer_source ${source.model} is not a model of this config`);
  return i;
}

/**
 * config.json across vocabularies: vocab_size is the output's rows, and the special token ids are
 * those of the model whose tokenizer the output carries (its ids are the output's), so that
 * config.json and the tokenizer files agree.
 */
function vocabularyConfig(plan: MergePlan, config: ModelConfig, tokFrom: number): ModelConfig {
  if (!plan.vocabulary && tokFrom === plan.reference) return config;
  const from = plan.layouts[tokFrom]!.model.config;
  const out: ModelConfig = plan.vocabulary ? { ...config, vocab_size: plan.vocabulary.rows } : { ...config };
  for (const key of ["bos_token_id", "eos_token_id", "pad_token_id"]) {
    if (from[key] === undefined) delete out[key];
    else out[key] = from[key];
  }
  return out;
}

/**
 * mergekit's `chat_template`: "auto" (keep the carried one), a Jinja template, or a built-in name
 * (mergekit's own are alpaca, chatml, llama3, mistral, exaone), here deepen's built-in templates,
 * which render what each family's published template renders.
 */
function chatTemplateText(template: string | undefined, file: string): string | undefined {
  if (template === undefined || template === "auto") return undefined;
  if (/\{[%{]/.test(template)) return template;
  if (Object.hasOwn(BUILTIN_TEMPLATES, template)) return BUILTIN_TEMPLATES[template]!.template;
  throw new RecipeError(
    file,
    `chat_template ${template}: not a Jinja template, "auto", or a built-in name (${Object.keys(BUILTIN_TEMPLATES).join(", ")})`,
  );
}

/** Sets the output's chat template: a Jinja template string replaces the carried one; none keeps it. */
async function applyChatTemplate(dir: string, template: string | undefined) {
  if (template === undefined) return;
  const cfgFile = join(dir, "tokenizer_config.json");
  const cfg = existsSync(cfgFile)
    ? (JSON.parse(await readFile(cfgFile, "utf8")) as Record<string, unknown>)
    : {};
  cfg.chat_template = template;
  await writeFile(cfgFile, JSON.stringify(cfg, null, 2) + "\n");
  await rm(join(dir, "chat_template.jinja"), { force: true }); // it would take precedence over the config's
}

export async function mergeModels(configFile: string, opts: MergeOptions = {}): Promise<MergeResult> {
  const config = await readMergeConfig(configFile);
  if (config.method === "passthrough") {
    // A layer stack: the surgery writer executes it, from the YAML already read and parsed here.
    const r = await upscale({
      recipe: { file: config.file, doc: config.raw },
      out: opts.out,
      force: opts.force,
      shardBytes: opts.shardBytes,
      dryRun: opts.dryRun,
      command: opts.command,
      allowNonFinite: opts.allowNonFinite,
      onStart: opts.onStart,
      onProgress: opts.onProgress,
      onWarning: opts.onWarning,
    });
    return {
      warnings: r.warnings,
      method: "passthrough",
      models: r.lineage.sources.map((s) => s.name),
      layers: r.layers,
      parameters: r.parameters,
      bytes: r.bytes,
      tensors: r.tensors.length,
    };
  }
  const method = methodNamed(config.method);
  if (!method) {
    throw new RecipeError(
      configFile,
      `unknown merge_method ${config.method} (known: ${[...Object.keys(METHODS), "passthrough"].join(", ")})`,
    );
  }
  if (!opts.dryRun) {
    if (opts.out === undefined) throw new UsageError("missing -o/--out: where to write the merged model");
    checkOutputTarget(opts.out, { force: opts.force });
  }
  const plan = await planMerge(config, method);
  plan.ignored.forEach(opts.onWarning ?? warnOnStderr);
  const merged = mergeTensors(plan, opts.seed ?? 0, { chunkElements: opts.chunkElements });
  // Every value is computed, so every tensor is checked as it streams (a scan per chunk, small
  // beside the merge itself).
  const why = `the ${method.name} merge leaves the dtype's range or an input holds Inf or NaN`;
  const tensors = opts.allowNonFinite ? merged : merged.map((t) => finiteOnly(t, why));
  const parameters = tensors.reduce((a, t) => a + numel(t.shape), 0);
  const bytes = tensors.reduce((a, t) => a + t.byteLength, 0);
  // Everything that can fail is checked before the first tensor is merged (and by --dry-run).
  const tokFrom = tokenizerModel(plan);
  const chatTemplate = chatTemplateText(config.chatTemplate, configFile);
  const rewritten = rewriteConfig(layerMapOf(plan));
  const outConfig = vocabularyConfig(plan, rewritten.config, tokFrom);
  const warnings = rewritten.warnings;
  const result: MergeResult = {
    method: method.name,
    models: plan.refs,
    layers: plan.layers,
    parameters,
    bytes,
    tensors: tensors.length,
    warnings,
  };
  if (opts.dryRun) return result;
  const lineage: Lineage = {
    deepen_version: VERSION,
    method: "merge",
    recipe: { merge_method: method.name, config: config.raw, seed: opts.seed ?? 0 },
    sources: plan.layouts.map((l, i) => ({
      name: plan.refs[i]!,
      path: l.model.dir,
      architecture: l.family.architectures[0]!,
      layers: l.layers,
    })),
    layer_map: layerMapOf(plan).layers,
    new_layers: [],
    parameters,
    parents: await readParentLineages(plan.layouts.map((l) => l.model.dir)),
  };
  const inputs = plan.layouts.map((l) => l.model.dir);
  await withAtomicOutput(opts.out!, { force: opts.force, inputs }, async (tmp) => {
    opts.onStart?.(bytes);
    await writeShards(tmp, tensors, { shardBytes: opts.shardBytes, onProgress: opts.onProgress });
    await writeFolderFiles(tmp, {
      config: outConfig,
      carryFrom: plan.layouts[tokFrom]!.model.dir,
      lineage,
      card: mergeCard(plan, parameters, opts.command),
    });
    // After the carried files, which these edit.
    await appendAddedTokens(tmp, plan.vocabulary?.appended ?? []);
    await applyChatTemplate(tmp, chatTemplate);
    await writeFile(join(tmp, MERGE_CONFIG_FILE), config.text);
  });
  return result;
}

function mergeCard(plan: MergePlan, parameters: number, command?: string): string {
  const front = stringify({
    base_model: [...new Set(plan.refs)],
    library_name: "transformers",
    tags: ["deepen", "merge", plan.method.name],
  });
  return [
    "---",
    front.trimEnd(),
    "---",
    "",
    `# Merge of ${plan.refs.length} models (${plan.method.name})`,
    "",
    `Made with deepen ${VERSION} by ${plan.method.name} (${plan.method.reference}).`,
    "",
    `- Parameters: ${formatCount(parameters)} (${parameters}), ${plan.layers} layers`,
    ...plan.refs.map((r, i) => `- ${i === plan.base ? "Base model" : "Model"}: ${r}`),
    "",
    "## Configuration",
    "",
    "```yaml",
    plan.config.text.trimEnd(),
    "```",
    "",
    ...(command ? ["## Reproduce", "", "```", command, "```", ""] : []),
  ].join("\n");
}
