import type { GgufLayout } from "../arch/ggufLayout.js";
import type { LayerPlan } from "./layerPlan.js";

/**
 * Architectures whose sliding-window layers llama.cpp derives from the layer's index, with no
 * per-layer key in the file to say otherwise: layer i slides when i mod period < period − 1
 * (llama.cpp's swa pattern). Gemma 2 alternates; Gemma 3 has one global layer in six.
 */
const SWA_PERIOD: Readonly<Record<string, number>> = { gemma2: 2, gemma3: 6, cohere2: 4 };

/**
 * The output layers that llama.cpp will run with another attention kind than their source layer
 * had, as a warning (a model folder writes layer_types instead; a GGUF file cannot say it).
 */
export function ggufLayerKindWarnings(plan: LayerPlan<GgufLayout>): string[] {
  const arch = plan.models[plan.configFrom]!.architecture;
  const period = SWA_PERIOD[arch];
  if (period === undefined) return [];
  const sliding = (i: number) => i % period < period - 1;
  const changed = plan.layers.flatMap((src, j) => (sliding(src.layer) !== sliding(j) ? [j] : []));
  if (changed.length === 0) return [];
  return [
    `llama.cpp derives ${arch}'s sliding-window layers from their index: output layer(s) ${changed.join(", ")} ` +
      `will attend ${period === 2 ? "with the other kind" : "differently"} than their source layer did (choose a drop that keeps the pattern, e.g. a multiple of ${period})`,
  ];
}
