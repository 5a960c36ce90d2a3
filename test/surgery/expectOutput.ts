import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { familyByName } from "../../src/arch/findFamily.js";
import { INDEX_FILE } from "../../src/checkpoint/modelFolder.js";
import { modelTensors, readJson } from "../helpers.js";

export interface ExpectedLayer {
  /** Index into the source folders. */
  model: number;
  layer: number;
  /** Residual writers must be zero. */
  identity?: boolean;
}

/**
 * Checks an output folder tensor by tensor against its sources: every layer tensor is the bytes of
 * the expected source tensor (zeros where an identity block zeroes), embeddings from `headFrom`,
 * final norm and head from `tailFrom`, and the index agrees with the shards.
 */
export async function expectOutput(
  out: string,
  sources: string[],
  family: string,
  layers: ExpectedLayer[],
  opts: { headFrom?: number; tailFrom?: number } = {},
): Promise<void> {
  const fam = familyByName(family);
  const got = await modelTensors(out);
  const src = await Promise.all(sources.map((s) => modelTensors(s)));
  const expectedNames = new Set<string>();
  const pfx = fam.layerPrefix;
  layers.forEach((l, j) => {
    for (const [name, t] of src[l.model]!) {
      if (!name.startsWith(`${pfx}${l.layer}.`)) continue;
      const rel = name.slice(`${pfx}${l.layer}.`.length);
      const outName = `${pfx}${j}.${rel}`;
      expectedNames.add(outName);
      const o = got.get(outName);
      assert.ok(o, `output has ${outName}`);
      assert.deepEqual(o.entry.shape, t.entry.shape, outName);
      assert.equal(o.entry.dtype, t.entry.dtype, outName);
      if (l.identity && fam.residualWriters.test(rel)) {
        assert.ok(
          o.bytes.every((b) => b === 0),
          `${outName} is zero`,
        );
      } else {
        assert.ok(o.bytes.equals(t.bytes), `${outName} equals source ${sources[l.model]} ${name}`);
      }
    }
  });
  // Non-layer tensors: tail names from tailFrom, the rest from headFrom.
  for (const [name, t] of src[opts.headFrom ?? 0]!) {
    if (name.startsWith(pfx) || fam.tailTensors.includes(name)) continue;
    expectedNames.add(name);
    assert.ok(got.get(name)?.bytes.equals(t.bytes), `${name} comes from the first model`);
  }
  for (const [name, t] of src[opts.tailFrom ?? 0]!) {
    if (!fam.tailTensors.includes(name)) continue;
    expectedNames.add(name);
    assert.ok(got.get(name)?.bytes.equals(t.bytes), `${name} comes from the last model`);
  }
  assert.deepEqual(
    [...got.keys()].sort(),
    [...expectedNames].sort(),
    "output has exactly the expected tensors",
  );

  const config = readJson(join(out, "config.json"));
  assert.equal(config[fam.layerCountKey], layers.length);
  const index = readJson(join(out, INDEX_FILE)) as {
    metadata: { total_size: number };
    weight_map: Record<string, string>;
  };
  const total = [...got.values()].reduce((a, t) => a + t.bytes.length, 0);
  assert.equal(index.metadata.total_size, total, "index total_size is the tensor bytes");
  assert.deepEqual(Object.keys(index.weight_map).sort(), [...expectedNames].sort());
  for (const [name, file] of Object.entries(index.weight_map))
    assert.equal(got.get(name)!.entry.file, join(out, file));
}

/** Every file of the tokenizer source reaches the output unchanged. */
export function expectCarried(out: string, source: string): void {
  for (const f of [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
  ]) {
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(source, f))), `${f} carried unchanged`);
  }
}

/** Two folders hold the same files with the same bytes. */
export function expectSameFiles(a: string, b: string): void {
  const fa = readdirSync(a).sort();
  assert.deepEqual(fa, readdirSync(b).sort());
  for (const f of fa) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} identical`);
}
