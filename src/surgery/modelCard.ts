import { stringify } from "yaml";
import type { Lineage } from "../checkpoint/lineage.js";
import { formatCount } from "../formatCount.js";
import { describeLayerMap, type LayerPlan } from "./layerPlan.js";

const METHOD_TITLE: Record<string, string> = {
  dus: "Depth up-scaling (SOLAR, arXiv 2312.15166)",
  expand: "Block expansion (LLaMA Pro, arXiv 2401.02415)",
  passthrough: "Passthrough layer stack (mergekit-style recipe)",
};
const METHOD_TAG: Record<string, string> = {
  dus: "depth-up-scaling",
  expand: "block-expansion",
  passthrough: "passthrough",
};

/** The README.md of an output: Hugging Face metadata up front, then what was done and how to redo it. */
export function modelCard(plan: LayerPlan, lineage: Lineage, warnings: string[], command?: string): string {
  const names = lineage.sources.map((s) => s.name);
  const front = stringify({
    base_model: [...new Set(names)],
    library_name: "transformers",
    tags: ["deepen", METHOD_TAG[plan.method] ?? plan.method],
  });
  const r = plan.recipe;
  const lines = [
    "---",
    front.trimEnd(),
    "---",
    "",
    `# ${names[0]} grown to ${plan.layers.length} layers`,
    "",
    `${METHOD_TITLE[plan.method] ?? plan.method}, made with deepen ${lineage.deepen_version}.`,
    "",
    `- Parameters: ${formatCount(lineage.parameters)} (${lineage.parameters})`,
    ...lineage.sources.map((s, i) => `- Source ${i}: ${s.name} (${s.architecture}, ${s.layers} layers)`),
  ];
  if (plan.method === "dus") {
    const n = r.n as number;
    const m = r.m as number;
    lines.push(
      `- Recipe: n = ${n}, m = ${m}: copy A keeps layers [0, ${n - m}), copy B keeps layers [${m}, ${n}); ` +
        `${plan.layers.length} = 2(n - m) layers`,
      `- Seam: output layer ${n - m - 1} (source layer ${n - m - 1}) feeds output layer ${n - m} (source layer ${m})`,
    );
  }
  const chosen = r.chosen_by as
    | { data: string; tokens: number; a: number; b: number; distance: { mean: number; se: number } }
    | undefined;
  if (chosen) {
    lines.push(
      `- Cut chosen by \`deepen seam\` on ${chosen.tokens} tokens of ${chosen.data}: source layer ${chosen.a - 1} feeds source layer ${chosen.b}, ` +
        `the smallest angular distance between the hidden states the seam joins among plans of this depth ` +
        `(${chosen.distance.mean.toFixed(4)} ± ${chosen.distance.se.toFixed(4)})`,
    );
  }
  if (plan.newLayers.length) {
    lines.push(
      `- New layers (identity at creation; attention output and MLP down projections zero): ${plan.newLayers.join(", ")}`,
    );
  }
  if (plan.dtype) lines.push(`- Output dtype: ${plan.dtype}`);
  lines.push("", "## Layer map", "", "Output layers <- source model and layers:", "", "```");
  lines.push(...describeLayerMap(plan, names), "```");
  if (plan.method === "passthrough") {
    lines.push("", "## Recipe", "", "```yaml", stringify(r.recipe).trimEnd(), "```");
  }
  if (warnings.length) lines.push("", "## Notes", "", ...warnings.map((w) => `- ${w}`));
  lines.push(
    "",
    "## Reproduce",
    "",
    "```",
    command ?? `deepen upscale ${lineage.sources[0]!.path}`,
    "```",
    "",
    "The full lineage, machine-readable, is in `deepen.json` beside the weights. The model has the",
    "architecture of its source and loads with no custom code.",
    "",
  );
  return lines.join("\n");
}
