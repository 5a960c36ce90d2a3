// llama.cpp (through node-llama-cpp's prebuilt CPU binary) loads and runs deepen's GGUF outputs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { getLlama, type Llama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { upscaleGguf } from "../../src/surgery/upscaleGguf.js";
import { GGUF_BOS, writeGgufModel } from "../fixtures/ggufModel.js";
import { tempDir } from "../helpers.js";

const root = tempDir();
const base = join(root, "base.gguf");
await writeGgufModel(base, { kvHeadsArray: true });
let llama: Llama | undefined;
after(() => llama?.dispose());
let baseRun: Awaited<ReturnType<typeof nextTokenProbabilities>> | undefined;
const baseProbabilities = async () => (baseRun ??= await nextTokenProbabilities(base));

/** llama.cpp's next-token probabilities after each prefix of a short prompt. */
async function nextTokenProbabilities(
  file: string,
): Promise<{ layers: number; probs: Map<number, number>[] }> {
  llama ??= await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: file });
  try {
    const ctx = await model.createContext({ contextSize: 64 });
    try {
      const tokens = [GGUF_BOS as Token, ...model.tokenize("deepen grows models")];
      const res = await ctx
        .getSequence()
        .controlledEvaluate(tokens.map((t) => [t, { generateNext: { probabilities: true } }]));
      return {
        layers: model.fileInfo.metadata.llama?.block_count as number,
        probs: res.map((r) => r!.next.probabilities!),
      };
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

test("llama.cpp loads and runs the base fixture and its DUS 8 -> 12", async () => {
  const baseRun = await baseProbabilities();
  const out = join(root, "dus.gguf");
  await upscaleGguf({ model: base, out });
  const dus = await nextTokenProbabilities(out);
  for (const run of [baseRun, dus]) {
    for (const p of run.probs) {
      const total = [...p.values()].reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 1) < 1e-3, `probabilities sum to ${total}`);
    }
  }
  // The seam changes what the model computes: DUS is not the identity.
  assert.notDeepEqual(
    [...dus.probs.at(-1)!.entries()].slice(0, 3),
    [...baseRun.probs.at(-1)!.entries()].slice(0, 3),
  );
});

test("llama.cpp's next-token probabilities of a block-expanded GGUF equal its base's (identity blocks)", async () => {
  const out = join(root, "expand.gguf");
  await upscaleGguf({ model: base, out, method: "expand", blocks: 4 });
  const a = await baseProbabilities();
  const b = await nextTokenProbabilities(out);
  assert.equal(b.probs.length, a.probs.length);
  let worst = 0;
  a.probs.forEach((pa, i) => {
    const pb = b.probs[i]!;
    for (const [tok, p] of pa) worst = Math.max(worst, Math.abs(p - (pb.get(tok) ?? 0)));
  });
  assert.ok(worst < 1e-5, `largest probability difference ${worst}`);
  assert.equal(b.layers, 12, "the loaded model has 12 blocks");
});
