import { type Lineage, readParentLineages } from "../checkpoint/lineage.js";
import { VERSION } from "../version.js";
import type { LayerPlan, StackLayout } from "./layerPlan.js";

/** A lineage from a plan of any layout, given how its sources are described and their own lineages. */
export function lineageOf<M extends StackLayout>(
  plan: LayerPlan<M>,
  sources: Lineage["sources"],
  parameters: number,
  parents: Lineage[],
): Lineage {
  return {
    deepen_version: VERSION,
    method: plan.method,
    recipe: plan.recipe,
    sources,
    layer_map: plan.layers.map((s) => ({
      model: s.model,
      layer: s.layer,
      ...(s.identity ? { identity: true } : {}),
    })),
    new_layers: plan.newLayers,
    parameters,
    parents,
  };
}

/** The lineage of a plan's output: its sources, layer map and recipe, and the sources' own lineages. */
export async function planLineage(plan: LayerPlan, parameters: number): Promise<Lineage> {
  const sources = plan.models.map((l) => ({
    name: l.model.name,
    path: l.model.dir,
    architecture: l.family.architectures[0]!,
    layers: l.layers,
  }));
  return lineageOf(plan, sources, parameters, await readParentLineages(plan.models.map((l) => l.model.dir)));
}
