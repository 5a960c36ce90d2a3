import { type GgufLayout, ggufLayout } from "../arch/ggufLayout.js";
import { looksLikeGguf, readGguf } from "../checkpoint/gguf/readGguf.js";
import { metaNumber } from "../checkpoint/gguf/ggufMetadata.js";
import { UsageError } from "../errors.js";
import type { RecipeSources } from "./planRecipe.js";

/** A GGUF model file, read (header only) and split by layer. */
export async function openGgufLayout(path: string): Promise<GgufLayout> {
  return ggufLayout(await readGguf(path));
}

const dimsOf = (l: GgufLayout, name: string) => l.gguf.tensors.find((t) => t.name === name)?.dims.join(", ");

/** A recipe's models as GGUF files: one architecture, one width, one vocabulary, one layer shape. */
export const GGUF_SOURCES: RecipeSources<GgufLayout> = {
  async open(path) {
    if (!(await looksLikeGguf(path))) {
      throw new UsageError(
        `${path} is not a GGUF file: a recipe's models must be all GGUF files or all model folders`,
      );
    }
    return openGgufLayout(path);
  },
  checkCompatible(layouts, names, fail) {
    const first = layouts[0]!;
    for (let i = 1; i < layouts.length; i++) {
      const other = layouts[i]!;
      const pair = `models ${names[0]} and ${names[i]}`;
      if (other.architecture !== first.architecture) {
        throw fail(`${pair} differ in architecture (${first.architecture} vs ${other.architecture})`);
      }
      const width = `${first.architecture}.embedding_length`;
      const [a, b] = [metaNumber(first.gguf.metadata, width), metaNumber(other.gguf.metadata, width)];
      if (a !== b) throw fail(`${pair} disagree in ${width} (${a} vs ${b})`);
      if (dimsOf(first, "token_embd.weight") !== dimsOf(other, "token_embd.weight")) {
        throw fail(`${pair} disagree in token_embd.weight's shape (vocabulary or width)`);
      }
      const ref = first.layerTensors[0]!;
      const cur = other.layerTensors[0]!;
      for (const [rel, t] of ref) {
        const o = cur.get(rel);
        if (!o) throw fail(`model ${names[i]} has no layer tensor ${rel}, which ${names[0]} has`);
        if (o.dims.join() !== t.dims.join()) {
          throw fail(
            `layer tensor ${rel} is [${t.dims.join(", ")}] in ${names[0]} but [${o.dims.join(", ")}] in ${names[i]}`,
          );
        }
      }
      for (const rel of cur.keys()) {
        if (!ref.has(rel)) throw fail(`model ${names[0]} has no layer tensor ${rel}, which ${names[i]} has`);
      }
    }
  },
};
