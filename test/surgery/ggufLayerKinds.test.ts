import assert from "node:assert/strict";
import { test } from "node:test";
import type { GgufLayout } from "../../src/arch/ggufLayout.js";
import type { LayerPlan } from "../../src/surgery/layerPlan.js";
import { ggufLayerKindWarnings } from "../../src/surgery/ggufLayerKinds.js";
import { planDus } from "../../src/surgery/planDus.js";

const layout = (architecture: string, layers: number) => ({ architecture, layers }) as unknown as GgufLayout;

test("GGUF DUS of Gemma 2 warns when a layer changes parity (llama.cpp slides even layers), not otherwise", () => {
  // Copy B moves by n − 2m layers: even for Gemma 2's even depths, whatever m.
  assert.deepEqual(
    ggufLayerKindWarnings(planDus(layout("gemma2", 26), { drop: 5 }) as LayerPlan<GgufLayout>),
    [],
  );
  const odd = planDus(layout("gemma2", 25), { drop: 6 }) as LayerPlan<GgufLayout>;
  const w = ggufLayerKindWarnings(odd);
  assert.equal(w.length, 1);
  // Copy B (source layers 6..24) lands at 19..37: every one of them flips.
  assert.match(w[0]!, /output layer\(s\) 19, 20, .*, 37 will attend/);
});

test("GGUF DUS of Gemma 3 warns unless the drop keeps its one-in-six global layers; llama never warns", () => {
  assert.deepEqual(
    ggufLayerKindWarnings(planDus(layout("gemma3", 24), { drop: 6 }) as LayerPlan<GgufLayout>),
    [],
  );
  assert.equal(
    ggufLayerKindWarnings(planDus(layout("gemma3", 24), { drop: 4 }) as LayerPlan<GgufLayout>).length,
    1,
  );
  assert.deepEqual(
    ggufLayerKindWarnings(planDus(layout("llama", 32), { drop: 5 }) as LayerPlan<GgufLayout>),
    [],
  );
});
