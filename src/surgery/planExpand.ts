import type { DType } from "../checkpoint/dtype.js";
import { UsageError } from "../errors.js";
import type { LayerPlan, LayerSource, StackLayout } from "./layerPlan.js";

/**
 * Block expansion (LLaMA Pro, Wu et al., arXiv 2401.02415): after every (n/K)-th layer insert a
 * copy of it whose residual writers (attention output and MLP down projections) are zero, so each
 * new block adds nothing to the residual stream and the model computes exactly what the base did.
 */
export function planExpand<M extends StackLayout>(layout: M, blocks: number, dtype?: DType): LayerPlan<M> {
  const n = layout.layers;
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > n || n % blocks !== 0) {
    throw new UsageError(`--blocks ${blocks}: need a divisor of the layer count n = ${n} (1 <= K <= n)`);
  }
  const group = n / blocks;
  const layers: LayerSource[] = [];
  const newLayers: number[] = [];
  for (let i = 0; i < n; i++) {
    layers.push({ model: 0, layer: i });
    if ((i + 1) % group === 0) {
      newLayers.push(layers.length);
      layers.push({ model: 0, layer: i, identity: true });
    }
  }
  return {
    method: "expand",
    models: [layout],
    layers,
    headFrom: 0,
    configFrom: 0,
    tokenizerFrom: 0,
    tailFrom: 0,
    dtype,
    newLayers,
    recipe: { method: "expand", n, blocks, layers: n + blocks, new_layers: newLayers },
  };
}
