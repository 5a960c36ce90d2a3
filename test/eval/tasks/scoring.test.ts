import assert from "node:assert/strict";
import { test } from "node:test";
import { DecoderModel } from "../../../src/nn/decoderModel.js";
import { loadTokenizer } from "../../../src/tokenizer/loadTokenizer.js";
import { choiceScores, rollingScores } from "../../../src/eval/tasks/metrics.js";
import { loglikelihoods, type TokenRequest } from "../../../src/eval/tasks/loglikelihood.js";
import { encodePair, type EvalModel, rollingWindows } from "../../../src/eval/tasks/runTask.js";
import { referenceLogits } from "../../reference/decoderForward.js";
import { fixture, tempDir } from "../../helpers.js";

const root = tempDir();
const dir = await fixture(root, { family: "llama", layers: 2, dtype: "F32" });
const model = await DecoderModel.load(dir);
const tokenizer = await loadTokenizer(dir);
const m: EvalModel = { model, tokenizer, maxLength: 2048, addBos: false };

/** log p(continuation | context) in float64 on the independent reference forward. */
async function ll64(r: TokenRequest): Promise<number> {
  const all = [...r.context, ...r.continuation];
  const logits = await referenceLogits(dir, all.slice(0, -1));
  let s = 0;
  for (let t = r.context.length - 1; t < all.length - 1; t++) {
    const l = logits[t]!;
    const max = Math.max(...l);
    const lse = max + Math.log(l.reduce((a, v) => a + Math.exp(v - max), 0));
    s += l[all[t + 1]!]! - lse;
  }
  return s;
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

const question = "Question: Which is heavier, a kilogram of lead or a gram of feathers?\nAnswer:";
const choices = ["lead", "a gram of feathers, which weighs one thousandth as much", "neither", "x"];
const requests = choices.map((c) => encodePair(m, question, " " + c));

test("the harness's tokenization: the context's trailing space moves to the continuation", () => {
  const r = encodePair(m, "Answer: ", "yes");
  assert.deepEqual(r.context, tokenizer.encode("Answer:", { addSpecialTokens: false }));
  assert.equal(tokenizer.decode(r.continuation), " yes");
  // BOS goes first only when asked, or before an empty context (the harness's prefix token).
  assert.equal(encodePair({ ...m, addBos: true }, "a", " b").context[0], tokenizer.bosId);
  assert.equal(encodePair(m, "", "b").context.length, 1);
});

test("multiple choice log-likelihoods equal a float64 computation, shared context or not", async () => {
  const opts = { maxLength: 2048, tokensPerRun: 512, padId: 2 };
  const shared = await loglikelihoods(model, requests, { ...opts, shared: true });
  const separate = await loglikelihoods(model, requests, { ...opts, shared: false });
  for (const [i, r] of requests.entries()) {
    const expected = await ll64(r);
    close(shared[i]!, expected, `shared, choice ${i}`);
    close(separate[i]!, expected, `separate, choice ${i}`);
  }
});

test("shared-context scoring gives the same log-likelihoods as scoring each choice alone, over many questions and row sizes", async () => {
  const qs = ["The sky is", "Two plus two makes", "A\n\nB\n\nQuestion: why?\nAnswer:", "x"];
  const reqs = qs.flatMap((q, i) =>
    ["a", " blue", " four and a half", "?".repeat(i + 1)].map((c) => encodePair(m, q, c)),
  );
  for (const tokensPerRun of [64, 4096]) {
    const o = { maxLength: 2048, tokensPerRun, padId: 2 };
    const a = await loglikelihoods(model, reqs, { ...o, shared: true });
    const b = await loglikelihoods(model, reqs, { ...o, shared: false });
    a.forEach((x, i) => close(x, b[i]!, `request ${i}, ${tokensPerRun} tokens a run`));
  }
});

test("a context longer than the model's length is cut from the left, as the harness cuts it", async () => {
  const long = encodePair(m, "word ".repeat(60) + "end:", " yes");
  const [cut] = await loglikelihoods(model, [long], {
    maxLength: 32,
    tokensPerRun: 64,
    padId: 2,
    shared: true,
  });
  const keep = 33 - long.continuation.length;
  close(cut!, await ll64({ context: long.context.slice(-keep), continuation: long.continuation }), "cut");
});

test("acc and acc_norm disagree when the likelier choice is the shorter one per character", () => {
  // Summed: choice 0 wins (−4 > −6); per character: choice 1 (−6/12 = −0.5 > −4/2 = −2).
  const s = choiceScores([-4, -6, -9], ["ab", "abcdefghijkl", "abc"], [1]);
  assert.equal(s.acc, 0);
  assert.equal(s.acc_norm, 1);
  assert.equal(s.prediction, 0);
});

test("mc2 is the probability mass on the true answers, normalised over all the choices", () => {
  const ll = [Math.log(0.2), Math.log(0.1), Math.log(0.3), Math.log(0.4)];
  const s = choiceScores(ll, ["a", "b", "c", "d"], [0, 1]);
  close(s.mc2, 0.3 / 1.0, "mc2");
  // Scale-free: the same when every likelihood is multiplied by a constant.
  close(
    choiceScores(
      ll.map((x) => x - 50),
      ["a", "b", "c", "d"],
      [0, 1],
    ).mc2,
    0.3,
    "shifted",
  );
});

test("Winogrande's partial scoring: each option's context, the shared continuation scored", async () => {
  const sentence = "The trophy does not fit in the suitcase because the _ is too big.";
  const at = sentence.indexOf("_");
  const contexts = ["trophy", "suitcase"].map((o) => sentence.slice(0, at) + o);
  const reqs = contexts.map((c) => encodePair(m, c, " " + sentence.slice(at + 1).trim()));
  // The continuation is the same text for both; its tokens are scored after each option.
  assert.equal(tokenizer.decode(reqs[0]!.continuation), " is too big.");
  const got = await loglikelihoods(model, reqs, {
    maxLength: 2048,
    tokensPerRun: 256,
    padId: 2,
    shared: true,
  });
  for (const [i, r] of reqs.entries()) close(got[i]!, await ll64(r), `option ${i}`);
});

test("rolling perplexity: word and byte perplexity from the summed log-likelihood", () => {
  const docs = [
    { ll: -20, text: "one two three" },
    { ll: -10, text: "four five" },
  ];
  const r = rollingScores(docs);
  close(r.word_perplexity!.value, Math.exp(30 / 5), "word");
  close(r.byte_perplexity!.value, Math.exp(30 / 22), "byte");
  close(r.bits_per_byte!.value, 30 / 22 / Math.LN2, "bits");
});

test("rolling windows as the harness makes them: every target once, a short last window still reads a full window", () => {
  // A prefix token 0, then ten tokens 1..10, windows of 4.
  const ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const w = rollingWindows(ids, 4);
  assert.deepEqual(
    w.map((r) => [r.context, r.continuation]),
    [
      [[0], [1, 2, 3, 4]],
      [[4], [5, 6, 7, 8]],
      [
        [6, 7, 8],
        [9, 10],
      ],
    ],
  );
  // Each window's input (context and continuation but its last token) is at most 4 tokens.
  for (const r of w) assert.ok(r.context.length + r.continuation.length - 1 <= 4);
});
