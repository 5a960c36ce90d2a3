import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { perplexityOfTokens, perplexityWindows } from "../../src/eval/perplexity.js";
import { DecoderModel } from "../../src/nn/decoderModel.js";
import { upscale } from "../../src/surgery/upscale.js";
import { fixture, tempDir } from "../helpers.js";

const root = tempDir();
const ids = [
  256,
  ...Buffer.from("It was the best of times, it was the worst of times; it was the age of wisdom."),
];

test("sliding windows score every token after the first exactly once, with at least context - stride of context", () => {
  for (const [n, ctx, stride] of [
    [100, 16, 8],
    [100, 16, 16],
    [17, 16, 8],
    [5, 16, 8],
    [64, 10, 3],
  ] as const) {
    const seen = new Array<number>(n).fill(0);
    for (const w of perplexityWindows(n, ctx, stride)) {
      for (let j = w.from + 1; j <= w.to; j++) {
        seen[j]!++;
        assert.ok(j - 1 - w.begin < ctx, "target inside its window");
        if (w.begin > 0)
          assert.ok(j - w.begin >= ctx - stride, `target ${j} has ${j - w.begin} tokens of context`);
      }
    }
    assert.deepEqual(seen.slice(1), new Array(n - 1).fill(1), `n=${n} ctx=${ctx} stride=${stride}`);
  }
});

test("one window that holds the text gives the mean NLL of a plain forward pass; batching windows changes nothing", async () => {
  const dir = await fixture(root, { family: "mistral", layers: 2, dtype: "F32" });
  const model = await DecoderModel.load(dir);
  const nll = await model.nll([ids.slice(0, -1)], [ids.slice(1)]);
  const mean = nll.reduce((a, b) => a + b, 0) / nll.length;
  const whole = await perplexityOfTokens(model, ids, { context: 256 });
  assert.equal(whole.tokens, ids.length - 1);
  assert.ok(Math.abs(whole.nll - mean) < 1e-6);
  assert.ok(Math.abs(whole.perplexity - Math.exp(mean)) < 1e-4);
  const one = await perplexityOfTokens(model, ids, { context: 16, stride: 5, batch: 1 });
  const four = await perplexityOfTokens(model, ids, { context: 16, stride: 5, batch: 4 });
  assert.equal(one.tokens, ids.length - 1);
  assert.ok(Math.abs(one.nll - four.nll) < 1e-6);
  await model.release();
});

test("block expansion keeps perplexity to 1e-5; a DUS with m = 0 is not silently the base", async () => {
  const base = await fixture(root, { family: "llama", layers: 4, dtype: "F32" });
  await upscale({ model: base, out: join(root, "expanded"), method: "expand", blocks: 2 });
  await upscale({ model: base, out: join(root, "naive"), drop: 0 });
  const ppl = async (dir: string) => {
    const m = await DecoderModel.load(dir);
    const r = await perplexityOfTokens(m, ids, { context: 32 });
    await m.release();
    return r.perplexity;
  };
  const p0 = await ppl(base);
  const pe = await ppl(join(root, "expanded"));
  const pn = await ppl(join(root, "naive"));
  assert.ok(Math.abs(pe - p0) / p0 < 1e-5, `expanded ${pe} vs base ${p0}`);
  assert.ok(Math.abs(pn - p0) / p0 > 1e-4, `m = 0 DUS ${pn} vs base ${p0}`);
});

test("bad options are clear errors", async () => {
  const dir = await fixture(root, { family: "llama", layers: 1, dtype: "F32" });
  const model = await DecoderModel.load(dir);
  await assert.rejects(
    perplexityOfTokens(model, ids, { context: 16, stride: 20 }),
    /--stride 20: must be between 1 and the context \(16\)/,
  );
  await assert.rejects(perplexityOfTokens(model, [5], { context: 16 }), /perplexity needs at least 2/);
  await model.release();
});
