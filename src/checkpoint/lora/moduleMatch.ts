// Which modules an adapter's config selects, and which rank and alpha apply to each, decided as PEFT
// decides them when it builds the adapter's layers; a tensor for a module the config does not select
// would not be loaded by PEFT, so it is refused rather than merged.
import type { LoraConfig, ModuleSelector } from "./adapterConfig.js";

/** A module named exactly, or ending in `.NAME`. */
const endsWithModule = (module: string, name: string) => module === name || module.endsWith(`.${name}`);

function selects(sel: ModuleSelector, module: string): boolean {
  return sel.kind === "regex" ? sel.re.test(module) : sel.names.some((n) => endsWithModule(module, n));
}

/** The layer index PEFT reads from a module name: the number after `.PATTERN.` (any segment without a pattern). */
function layerIndex(module: string, patterns: string[] | undefined): number | undefined {
  const tries = patterns?.length
    ? patterns.map((p) => new RegExp(`^.*\\.${p}\\.(\\d+)\\.`))
    : [/^.*\.[^.]*\.(\d+)\./];
  for (const re of tries) {
    const m = re.exec(module);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Whether the config puts a LoRA layer on `module` (a name like model.layers.0.self_attn.q_proj). */
export function moduleSelected(config: LoraConfig, module: string): boolean {
  if (config.excludeModules && selects(config.excludeModules, module)) return false;
  if (config.allLinear) return !endsWithModule(module, "lm_head");
  const t = config.targetModules;
  if (!t) return true;
  if (t.kind === "regex") return t.re.test(module); // PEFT applies no layer filter to a regex
  if (t.names.includes(module)) return true; // named whole: no layer filter either
  if (!selects(t, module)) return false;
  if (!config.layersToTransform) return true;
  const layer = layerIndex(module, config.layersPattern);
  return layer !== undefined && config.layersToTransform.includes(layer);
}

/** The first key of a rank or alpha pattern that matches the end of `module` at a name boundary, as PEFT picks it. */
export function patternKey(
  pattern: readonly [string, number][],
  module: string,
): [string, number] | undefined {
  return pattern.find(([key]) => new RegExp(`^(.*\\.)?(${key})$`).test(module));
}

/** The rank and alpha of `module`: the patterns' overrides, else the config's r and lora_alpha. */
export function moduleRankAlpha(config: LoraConfig, module: string): { r: number; alpha: number } {
  return {
    r: patternKey(config.rankPattern, module)?.[1] ?? config.r,
    alpha: patternKey(config.alphaPattern, module)?.[1] ?? config.loraAlpha,
  };
}

/** PEFT's scaling: alpha / r, or alpha / √r for rank-stabilised LoRA. */
export function loraScale(config: LoraConfig, r: number, alpha: number): number {
  return config.useRslora ? alpha / Math.sqrt(r) : alpha / r;
}
