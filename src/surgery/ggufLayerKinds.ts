import { ggufArchRow, slidesAt } from "../arch/ggufArch.js";
import type { GgufLayout } from "../arch/ggufLayout.js";
import type { LayerPlan } from "./layerPlan.js";

/**
 * The output layers that llama.cpp will run with another attention kind than their source layer
 * had, as a warning (a model folder writes layer_types instead; a GGUF file cannot say it).
 */
export function ggufLayerKindWarnings(plan: LayerPlan<GgufLayout>): string[] {
  // llama.cpp derives these architectures' sliding-window layers from the layer's index, with no
  // per-layer key in the file to say otherwise (Gemma 2 alternates; Gemma 3 has one global layer in six).
  const arch = plan.models[plan.configFrom]!.architecture;
  const period = ggufArchRow(arch)?.swaPattern;
  if (period === undefined) return [];
  const sliding = (i: number) => slidesAt(i, period);
  const changed = plan.layers.flatMap((src, j) => (sliding(src.layer) !== sliding(j) ? [j] : []));
  if (changed.length === 0) return [];
  return [
    `llama.cpp derives ${arch}'s sliding-window layers from their index: output layer(s) ${changed.join(", ")} ` +
      `will attend ${period === 2 ? "with the other kind" : "differently"} than their source layer did (choose a drop that keeps the pattern, e.g. a multiple of ${period})`,
  ];
}
