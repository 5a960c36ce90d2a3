import { UsageError } from "../errors.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";

export interface TrainableOptions {
  /** "8-15,40-47" or "new" (the layers a surgery added, from the lineage). */
  trainLayers?: string;
  freezeEmbeddings?: boolean;
  /** The lineage's new_layers, for --train-layers new. */
  newLayers?: number[];
}

/** Parses "8-15,40-47" into layer indices, checked against the model's depth. */
export function parseLayerList(spec: string, layers: number): number[] {
  const out = new Set<number>();
  for (const part of spec.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new UsageError(`--train-layers ${spec}: expected ranges like 8-15,40-47 or "new"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b || b >= layers)
      throw new UsageError(`--train-layers ${spec}: ${part} is outside layers 0-${layers - 1}`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** The parameter names that train; all others are frozen (no gradient, no optimizer memory). */
export function resolveTrainable(names: string[], d: ResolvedDecoder, o: TrainableOptions): string[] {
  let layers: Set<number> | undefined;
  if (o.trainLayers === "new") {
    if (!o.newLayers?.length) {
      throw new UsageError(
        "--train-layers new: the model's lineage (deepen.json) names no new layers; it was not grown by block expansion",
      );
    }
    layers = new Set(o.newLayers);
  } else if (o.trainLayers !== undefined) {
    layers = new Set(parseLayerList(o.trainLayers, d.config.num_hidden_layers));
  }
  const prefix = d.family.layerPrefix;
  const out = names.filter((n) => {
    if (o.freezeEmbeddings && n === "model.embed_tokens.weight") return false;
    if (!layers) return true;
    if (!n.startsWith(prefix)) return false;
    return layers.has(Number(n.slice(prefix.length).split(".")[0]));
  });
  if (out.length === 0) throw new UsageError("nothing left to train: every parameter is frozen");
  return out.sort();
}
