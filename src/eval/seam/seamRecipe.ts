// The recommended plan as a mergekit passthrough recipe: two slices of the base. `deepen upscale
// --recipe` and mergekit both run it; `upscale --drop auto` runs the same document from memory.
import { resolve } from "node:path";
import type { YamlMapping } from "../../mergekit/mergekitYaml.js";
import type { TwoSlicePlan } from "./recommend.js";

/** The recipe as a parsed document (what planRecipe reads). The model is named by its absolute path. */
export function seamRecipeDoc(model: string, n: number, p: Pick<TwoSlicePlan, "a" | "b">): YamlMapping {
  const path = resolve(model);
  return {
    slices: [
      { sources: [{ model: path, layer_range: [0, p.a] }] },
      { sources: [{ model: path, layer_range: [p.b, n] }] },
    ],
    merge_method: "passthrough",
  };
}

/** The recipe as YAML text, with a comment saying where it came from. */
export function seamRecipeYaml(model: string, n: number, p: TwoSlicePlan): string {
  const path = JSON.stringify(resolve(model));
  const what = p.symmetric ? `DUS with m = ${p.m}` : "two slices, not symmetric";
  return [
    `# deepen seam: the ${p.size}-layer plan of ${model} (${n} layers) whose seam joins the closest hidden`,
    `# states: ${what}; layer ${p.a - 1} feeds layer ${p.b}, angular distance ${p.distance.mean.toFixed(4)} +- ${p.distance.se.toFixed(4)}.`,
    "slices:",
    "  - sources:",
    `      - model: ${path}`,
    `        layer_range: [0, ${p.a}]`,
    "  - sources:",
    `      - model: ${path}`,
    `        layer_range: [${p.b}, ${n}]`,
    "merge_method: passthrough",
    "",
  ].join("\n");
}
