// One embedding-shaped tensor (embed_tokens or lm_head) of every merge input, rearranged into the
// output vocabulary's order (vocabularyPlan.ts): each model's own rows where it has the token and
// it is not forced, the default row elsewhere, then the padding rows. mergekit builds these whole in
// memory, one per model; so does this, reading one source tensor at a time (the rest of the merge
// streams as before: only these tensors change shape).
import type { LayerLayout } from "../arch/layerLayout.js";
import type { TensorEntry } from "../checkpoint/safetensorsHeader.js";
import { readTensorCopy, type StreamContext } from "../checkpoint/tensorStream.js";
import { CheckpointError } from "../errors.js";
import { defaultRow, type ModelRow, type VocabularyPlan } from "./vocabularyPlan.js";

/**
 * The tensor `name` of each model in `models`, aligned to `vocab`'s rows. `layouts` are every model
 * of the config (a default row may come from one that is not an input); a model without `name`
 * (a head tied to its embeddings) gives `tiedTo`'s rows.
 */
export async function permutedRows(
  io: StreamContext,
  vocab: VocabularyPlan,
  layouts: LayerLayout[],
  name: string,
  tiedTo: string,
  models: number[],
): Promise<Float32Array[]> {
  const entryOf = (m: number): TensorEntry => {
    const e = layouts[m]!.model.tensors.get(name) ?? layouts[m]!.model.tensors.get(tiedTo);
    if (!e) throw new CheckpointError(layouts[m]!.model.dir, `has no tensor ${name}`);
    return e;
  };
  const width = entryOf(models[0]!).shape[1]!;
  const whole = new Map<number, Float32Array>();
  const tensorOf = async (m: number) => {
    let t = whole.get(m);
    if (!t) {
      const e = entryOf(m);
      if (e.shape.length !== 2 || e.shape[1] !== width)
        throw new CheckpointError(
          e.file,
          `tensor ${e.name} is [${e.shape.join(", ")}], not [rows, ${width}]`,
        );
      t = await readTensorCopy(io, e);
      whole.set(m, t);
    }
    return t;
  };
  // The tensors default rows come from, read first; the default rows are copied out of them so that
  // every source can be let go as soon as its aligned tensor is built (N outputs and one source
  // tensor at a time, not 2N).
  for (const d of vocab.defaults.values()) {
    if (d.kind === "row") await tensorOf(d.from.model);
    if (d.kind === "mean") for (const r of d.from) await tensorOf(r.model);
  }
  const rowOf = (r: ModelRow) => whole.get(r.model)!.subarray(r.row * width, (r.row + 1) * width);
  const defaults = new Map([...vocab.defaults].map(([id, d]) => [id, defaultRow(d, width, rowOf).slice()]));
  whole.clear();
  const aligned: Float32Array[] = [];
  for (const m of models) {
    const own = await tensorOf(m);
    whole.delete(m);
    const p = vocab.perm[m]!;
    const out = new Float32Array(vocab.rows * width);
    for (let id = 0; id < vocab.tokens; id++) {
      const row = p[id]!;
      const src =
        row >= 0 && !vocab.forced.has(id) ? own.subarray(row * width, (row + 1) * width) : defaults.get(id)!;
      out.set(src, id * width);
    }
    if (vocab.rows > vocab.tokens) {
      // mergekit pads with the mean of the model's aligned rows (after Hewitt, "Initializing new
      // word embeddings for pretrained language models").
      const mean = new Float64Array(width);
      for (let id = 0; id < vocab.tokens; id++)
        for (let i = 0; i < width; i++) mean[i]! += out[id * width + i]!;
      const row = Float32Array.from(mean, (x) => x / vocab.tokens);
      for (let id = vocab.tokens; id < vocab.rows; id++) out.set(row, id * width);
    }
    aligned.push(out);
  }
  return aligned;
}
