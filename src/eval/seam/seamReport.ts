// What `deepen seam` shows and writes: the terminal table, the JSON, and the report folder
// (seam.json, the heatmap and Block Influence charts as SVG and PNG, recipe.yml).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withAtomicOutput } from "../../checkpoint/atomicOutput.js";
import { barChartSvg, heatmapSvg } from "../../report/seamPlots.js";
import { svgToPng } from "../../report/svgToPng.js";
import type { Estimate } from "./measures.js";
import type { SeamReport } from "./measureSeam.js";
import type { TwoSlicePlan } from "./recommend.js";
import { seamRecipeYaml } from "./seamRecipe.js";

export const SEAM_JSON = "seam.json";

export const HEURISTIC_NOTE =
  "The seam distance is a heuristic: it predicts that a cut whose seam joins similar hidden states (small distance) " +
  "starts closer to its base and needs less continued pretraining to heal; it does not measure the stitched model's " +
  "loss, which only training and evaluation show. Standard errors treat tokens as independent (tokens of one sequence are not), so read them as a lower bound.";

const est = (e: Estimate) => ({ mean: e.mean, se: e.se });
const planJson = (p: TwoSlicePlan, n: number) => ({
  a: p.a,
  b: p.b,
  size: p.size,
  slices: [
    [0, p.a],
    [p.b, n],
  ],
  seam: [p.a - 1, p.b],
  distance: est(p.distance),
  symmetric: p.symmetric,
  m: p.m ?? null,
  versus_symmetric: p.versusSymmetric ? est(p.versusSymmetric) : null,
});

/** The report as JSON (snake_case keys, as deepen's other --json outputs). */
export function seamJson(r: SeamReport): Record<string, unknown> {
  return {
    model: r.model,
    data: r.data,
    tokens: r.tokens,
    sequences: r.sequences,
    context: r.context,
    layers: r.layers,
    boundaries:
      "0: the embeddings (after any embedding scaling); l + 1: the output of layer l, before the final norm",
    angular_distance: {
      mean: r.distance.map((row) => row.map((e) => e.mean)),
      se: r.distance.map((row) => row.map((e) => e.se)),
    },
    block_influence: r.blockInfluence.map(est),
    dus: r.dus.map((d) => ({
      m: d.m,
      size: d.size,
      seam: d.seam,
      boundaries: d.boundaries,
      distance: est(d.distance),
    })),
    size: r.size,
    size_is_default: r.defaultSize,
    recommended: planJson(r.recommended, r.layers),
    plans: r.plans.map((p) => planJson(p, r.layers)),
    note: HEURISTIC_NOTE,
  };
}

const pm = (e: Estimate) => `${e.mean.toFixed(4)} ± ${e.se.toFixed(4)}`;

/** One sentence naming the plan: DUS m, or the two slices. */
export function describePlan(p: TwoSlicePlan, n: number): string {
  const slices = `layers [0, ${p.a}) then [${p.b}, ${n})`;
  return p.symmetric
    ? `DUS with m = ${p.m} (${slices}): ${p.size} layers, seam layer ${p.a - 1} -> layer ${p.b}, distance ${pm(p.distance)}`
    : `two slices, ${slices}: ${p.size} layers, seam layer ${p.a - 1} -> layer ${p.b}, distance ${pm(p.distance)}`;
}

/** The terminal report. */
export function seamTable(r: SeamReport): string {
  const n = r.layers;
  const lines = [
    `${r.model}: ${n} layers, ${r.tokens} tokens of ${r.data} (${r.sequences} sequences of ${r.context})`,
    "",
    "Block Influence per layer (1 - cos(input, output)):",
    ...r.blockInfluence.map((e, l) => `  layer ${String(l).padStart(3)}  ${pm(e)}`),
    "",
    "DUS seam (layer n-m-1 feeds layer m; angular distance between boundaries n-m and m):",
    "      m   size   seam        distance",
    ...r.dus.map(
      (d) =>
        `  ${String(d.m).padStart(5)}  ${String(d.size).padStart(5)}   ${`${d.seam[0]} -> ${d.seam[1]}`.padEnd(10)}  ${pm(d.distance)}${d.size < n ? "  (smaller than the base)" : ""}`,
    ),
    "",
    `recommended for ${r.size} layers${r.defaultSize ? " (default: the paper's 1.5x as DUS m = floor(n/4) gives it)" : ""}:`,
    `  ${describePlan(r.recommended, n)}`,
  ];
  const dus = r.plans.find((p) => p.symmetric);
  if (dus && dus !== r.recommended) {
    lines.push(`  the symmetric plan of that size: ${describePlan(dus, n)}`);
    const v = r.recommended.versusSymmetric;
    if (v)
      lines.push(
        `  difference (recommended - symmetric, paired over tokens): ${v.mean.toFixed(4)} ± ${v.se.toFixed(4)}`,
      );
  }
  lines.push("", HEURISTIC_NOTE);
  return lines.join("\n");
}

/** Writes the report folder atomically: seam.json, heatmap.svg/.png, block-influence.svg/.png, recipe.yml. */
export async function writeSeamReport(
  dir: string,
  r: SeamReport,
  opts: { force?: boolean; inputs?: string[] } = {},
): Promise<string[]> {
  const files = [
    SEAM_JSON,
    "heatmap.svg",
    "heatmap.png",
    "block-influence.svg",
    "block-influence.png",
    "recipe.yml",
  ];
  await withAtomicOutput(dir, opts, async (tmp) => {
    const p = r.recommended;
    const heat = heatmapSvg(
      r.distance.map((row) => row.map((e) => e.mean)),
      {
        title: `Angular distance between layer boundaries (${r.tokens} tokens)`,
        marks: [
          { at: [p.a, p.b], label: `the recommended ${p.size}-layer seam (boundaries ${p.a} and ${p.b})` },
          { at: [p.b, p.a], label: `the recommended ${p.size}-layer seam (boundaries ${p.a} and ${p.b})` },
        ],
      },
    );
    const bars = barChartSvg(r.blockInfluence, {
      title: "Block Influence per layer (1 - cos(input, output))",
      xLabel: "layer",
      yLabel: "Block Influence (± 1 s.e.)",
    });
    await writeFile(join(tmp, SEAM_JSON), JSON.stringify(seamJson(r), null, 2) + "\n");
    await writeFile(join(tmp, "heatmap.svg"), heat);
    await writeFile(join(tmp, "heatmap.png"), svgToPng(heat));
    await writeFile(join(tmp, "block-influence.svg"), bars);
    await writeFile(join(tmp, "block-influence.png"), svgToPng(bars));
    await writeFile(join(tmp, "recipe.yml"), seamRecipeYaml(r.model, r.layers, p));
  });
  return files;
}
