import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DTYPE_BYTES, decodeFloats } from "../../src/checkpoint/dtype.js";
import { mergeModels } from "../../src/merge/mergeModels.js";
import { loadTokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { byteTokenizerFiles } from "../fixtures/byteTokenizer.js";
import { fixture, modelTensors, readJson, tempDir } from "../helpers.js";

// Three byte-level BPE models: A and A2 share a vocabulary (bytes, <s> </s> <pad>, then "ab" 259 and
// "xy" 260); B has "xy" 259, "cd" 260 and a special <|im_end|> 261. Every embedding has 264 rows.
const root = tempDir();
const H = 64;
const EMBED = "model.embed_tokens.weight";
const HEAD = "lm_head.weight";

function withVocabulary(dir: string, extra: string[], merges: [string, string][], special: string[]) {
  const file = join(dir, "tokenizer.json");
  const tok = JSON.parse(byteTokenizerFiles()["tokenizer.json"]!) as {
    model: { vocab: Record<string, number>; merges: [string, string][] };
    added_tokens: Record<string, unknown>[];
  };
  extra.forEach((t, i) => (tok.model.vocab[t] = 259 + i));
  tok.model.merges = merges;
  special.forEach((t, i) => {
    const id = 259 + extra.length + i;
    tok.model.vocab[t] = id;
    tok.added_tokens.push({ ...tok.added_tokens[0], id, content: t });
  });
  writeFileSync(file, JSON.stringify(tok, null, 2) + "\n");
}

const model = async (seed: number) =>
  fixture(root, { family: "llama", layers: 2, seed, dtype: "F32", tied: false, dims: { vocab: 264 } });
const a = await model(1);
withVocabulary(
  a,
  ["ab", "xy"],
  [
    ["a", "b"],
    ["x", "y"],
  ],
  [],
);
const a2 = await model(3);
withVocabulary(
  a2,
  ["ab", "xy"],
  [
    ["a", "b"],
    ["x", "y"],
  ],
  [],
);
const b = await model(2);
withVocabulary(
  b,
  ["xy", "cd"],
  [
    ["x", "y"],
    ["c", "d"],
  ],
  ["<|im_end|>"],
);

let n = 0;
const config = (yaml: string) => {
  const p = join(root, `merge-${n++}.yml`);
  writeFileSync(p, yaml);
  return p;
};
const out = () => join(root, `out-${n++}`);

async function floats(dir: string): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  const res = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, t] of await modelTensors(dir)) {
    const values = new Float32Array(t.bytes.length / DTYPE_BYTES[t.entry.dtype]);
    decodeFloats(t.entry.dtype, t.bytes, values);
    res.set(name, { shape: t.entry.shape, values });
  }
  return res;
}
const [fa, fa2, fb] = [await floats(a), await floats(a2), await floats(b)];
const row = (t: Map<string, { values: Float32Array }>, name: string, id: number) =>
  t.get(name)!.values.subarray(id * H, (id + 1) * H);

function near(actual: Float32Array, expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++)
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= 1e-6, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}
const mix = (parts: [number, ArrayLike<number>][]) =>
  Array.from({ length: H }, (_, i) => parts.reduce((s, [w, v]) => s + w * v[i]!, 0));

const linear = (extra: string) =>
  `models:\n  - model: ${a}\n    parameters:\n      weight: 0.25\n  - model: ${b}\n    parameters:\n      weight: 0.75\nmerge_method: linear\n${extra}`;

test("union: A's ids first, B's ordinary tokens, then its added tokens; rows merged in that order", async () => {
  const o = out();
  await mergeModels(config(linear("tokenizer_source: union\n")), { out: o });
  const fo = await floats(o);
  assert.deepEqual(fo.get(EMBED)!.shape, [263, H]);
  assert.deepEqual(fo.get(HEAD)!.shape, [263, H]);
  assert.equal(readJson(join(o, "config.json")).vocab_size, 263);
  const tok = await loadTokenizer(o);
  assert.equal(tok.vocabSize, 263);
  const ids = (text: string) => tok.encode(text, { addSpecialTokens: false });
  assert.deepEqual(ids("ab"), [259]);
  assert.deepEqual(ids("xy"), [260]);
  assert.deepEqual(ids("cd"), [261]);
  assert.deepEqual(ids("<|im_end|>"), [262]);
  assert.deepEqual(ids("q"), [113]);
  assert.equal(tok.bosId, 256);
  const added = (
    readJson(join(o, "tokenizer.json")).added_tokens as { content: string; special: boolean }[]
  ).slice(-2);
  assert.deepEqual(
    added.map((t) => [t.content, t.special]),
    [
      ["cd", false],
      ["<|im_end|>", true],
    ],
  );
  for (const name of [EMBED, HEAD]) {
    for (const id of [0, 97, 256, 258])
      near(
        row(fo, name, id),
        mix([
          [0.25, row(fa, name, id)],
          [0.75, row(fb, name, id)],
        ]),
        `${name} ${id}`,
      );
    near(
      row(fo, name, 260),
      mix([
        [0.25, row(fa, name, 260)],
        [0.75, row(fb, name, 259)],
      ]),
      `${name} xy`,
    );
    // A token one model has: that model's row, for every model (mergekit's donor rule).
    near(row(fo, name, 259), row(fa, name, 259), `${name} ab`);
    near(row(fo, name, 261), row(fb, name, 260), `${name} cd`);
    near(row(fo, name, 262), row(fb, name, 261), `${name} im_end`);
  }
  // Every other tensor merges as without a vocabulary (the embeddings have equal shapes here).
  const plain = out();
  await mergeModels(config(linear("")), { out: plain });
  for (const [name, t] of await modelTensors(plain)) {
    if (name === EMBED || name === HEAD) continue;
    assert.ok((await modelTensors(o)).get(name)!.bytes.equals(t.bytes), name);
  }
});

test("task arithmetic across vocabularies: the base's row fills a token the base has, the donor's one it lacks", async () => {
  const o = out();
  await mergeModels(
    config(
      `models:\n  - model: ${a2}\n    parameters:\n      weight: 0.5\n  - model: ${b}\n    parameters:\n      weight: 1.0\nbase_model: ${a}\nmerge_method: task_arithmetic\nparameters:\n  normalize: false\ntokenizer_source: union\n`,
    ),
    { out: o },
  );
  const fo = await floats(o);
  assert.deepEqual(fo.get(EMBED)!.shape, [263, H]);
  for (const name of [EMBED, HEAD]) {
    const ta = (id: number, idB: number) =>
      mix([
        [1, row(fa, name, id)],
        [0.5, row(fa2, name, id)],
        [-0.5, row(fa, name, id)],
        [1, row(fb, name, idB)],
        [-1, row(fa, name, id)],
      ]);
    near(row(fo, name, 97), ta(97, 97), `${name} a`);
    near(row(fo, name, 260), ta(260, 259), `${name} xy`);
    // "ab": A and A2 have it, B takes the base's row: B's task vector is zero.
    near(
      row(fo, name, 259),
      mix([
        [0.5, row(fa, name, 259)],
        [0.5, row(fa2, name, 259)],
      ]),
      `${name} ab`,
    );
    // "cd": only B has it; base and A2 take B's row, so the merge gives B's row.
    near(row(fo, name, 261), row(fb, name, 260), `${name} cd`);
  }
});

test("the tokenizer section: zero and model_token sources, force, a new token and pad_to_multiple_of", async () => {
  const o = out();
  await mergeModels(
    config(
      linear(
        `tokenizer:\n  pad_to_multiple_of: 16\n  tokens:\n    ab:\n      source:\n        kind: zero\n    xy:\n      source: {kind: model_token, model: ${a}, token: ab}\n      force: true\n    cd:\n      source: {kind: model_token, model: ${a}, token_id: 97}\n    "<new>":\n      source: {kind: zero}\n`,
      ),
    ),
    { out: o },
  );
  const fo = await floats(o);
  assert.deepEqual(fo.get(EMBED)!.shape, [272, H]);
  assert.equal(readJson(join(o, "config.json")).vocab_size, 272);
  const tok = await loadTokenizer(o);
  assert.deepEqual(tok.encode("<new>", { addSpecialTokens: false }), [263]);
  for (const name of [EMBED, HEAD]) {
    // A has "ab"; B lacks it and takes zeros.
    near(row(fo, name, 259), mix([[0.25, row(fa, name, 259)]]), `${name} ab`);
    // Forced: both take A's "ab" row.
    near(row(fo, name, 260), row(fa, name, 259), `${name} xy`);
    near(
      row(fo, name, 261),
      mix([
        [0.25, row(fa, name, 97)],
        [0.75, row(fb, name, 260)],
      ]),
      `${name} cd`,
    );
    near(row(fo, name, 263), new Float32Array(H), `${name} <new>`);
    // Padding rows: each model's mean aligned row, merged.
    const aligned = (
      f: typeof fa,
      own: (id: number) => number | undefined,
      fill: Map<number, ArrayLike<number>>,
    ) => Array.from({ length: 264 }, (_, id) => fill.get(id) ?? row(f, name, own(id)!));
    const zero = new Float32Array(H);
    const alignedA = aligned(
      fa,
      (id) => id,
      new Map([
        [260, row(fa, name, 259)],
        [261, row(fa, name, 97)],
        [262, row(fb, name, 261)],
        [263, zero],
      ]),
    );
    const alignedB = aligned(
      fb,
      (id) => id,
      new Map([
        [259, zero],
        [260, row(fa, name, 259)],
        [261, row(fb, name, 260)],
        [262, row(fb, name, 261)],
        [263, zero],
      ]),
    );
    const mean = (rows: ArrayLike<number>[]) =>
      Array.from({ length: H }, (_, i) => rows.reduce((s, r) => s + r[i]!, 0) / rows.length);
    near(
      row(fo, name, 271),
      mix([
        [0.25, mean(alignedA)],
        [0.75, mean(alignedB)],
      ]),
      `${name} padding`,
    );
  }
});

test("tokenizer_source: model:NAME takes that model's tokenizer and aligns the others to it", async () => {
  const o = out();
  await mergeModels(config(linear(`tokenizer_source: model:${b}\n`)), { out: o });
  assert.equal(
    readFileSync(join(o, "tokenizer.json"), "utf8"),
    readFileSync(join(b, "tokenizer.json"), "utf8"),
  );
  const fo = await floats(o);
  assert.deepEqual(fo.get(EMBED)!.shape, [262, H]);
  assert.equal(readJson(join(o, "config.json")).vocab_size, 262);
  for (const name of [EMBED, HEAD]) {
    near(
      row(fo, name, 259),
      mix([
        [0.25, row(fa, name, 260)],
        [0.75, row(fb, name, 259)],
      ]),
      `${name} xy`,
    );
    near(row(fo, name, 260), row(fb, name, 260), `${name} cd`);
  }
  // A bare model reference means the same.
  const bare = out();
  await mergeModels(config(linear(`tokenizer_source: ${b}\n`)), { out: bare });
  assert.ok((await modelTensors(bare)).get(EMBED)!.bytes.equals((await modelTensors(o)).get(EMBED)!.bytes));
});

test("one vocabulary: tokenizer_source base or model:NAME merges byte for byte as without it", async () => {
  const cfg = (extra: string) =>
    config(
      `models:\n  - model: ${a}\n  - model: ${a2}\nbase_model: ${a}\nmerge_method: linear\nparameters:\n  weight: 0.5\n${extra}`,
    );
  const plain = out();
  await mergeModels(cfg(""), { out: plain });
  for (const extra of ["tokenizer_source: base\n", `tokenizer_source: model:${a2}\n`]) {
    const o = out();
    await mergeModels(cfg(extra), { out: o });
    const to = await modelTensors(o);
    for (const [name, t] of await modelTensors(plain)) assert.ok(to.get(name)!.bytes.equals(t.bytes), name);
    assert.equal(readJson(join(o, "config.json")).vocab_size, 264);
  }
});

test("bad vocabulary settings are refused with one line, before anything is written", async () => {
  const refused = async (extra: string, why: RegExp) => {
    const err = await mergeModels(config(linear(extra)), { out: out() }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, `accepted: ${extra}`);
    assert.match(err.message, why);
    assert.ok(!err.message.includes("\n"), err.message);
  };
  await refused("tokenizer:\n  source: union\n  padding: 8\n", /tokenizer: unknown key padding/);
  await refused(
    "tokenizer_source: union\ntokenizer:\n  source: union\n",
    /tokenizer_source or the tokenizer section, not both/,
  );
  await refused(
    "tokenizer:\n  tokens:\n    cd:\n      source: {kind: model_token, model: /elsewhere, token: a}\n",
    /tokenizer\.tokens\.cd: model \/elsewhere is not a model of this config/,
  );
  await refused(
    `tokenizer:\n  tokens:\n    cd:\n      source: {kind: model_token, model: ${a}, token: zz}\n`,
    /tokenizer\.tokens\.cd: token "zz" is not in .*'s vocabulary/,
  );
  await refused(
    `tokenizer:\n  tokens:\n    cd:\n      source: ${a}\n`,
    /token "cd" is not in .*'s vocabulary/,
  );
  await refused(
    `tokenizer:\n  tokens:\n    cd:\n      source: {kind: model_token, model: ${a}, token_id: 999}\n`,
    /token_id 999 is past .* 264 embedding rows/,
  );
  await refused(
    "tokenizer:\n  tokens:\n    cd:\n      force: true\n",
    /tokenizer\.tokens\.cd needs a source/,
  );
  await refused("tokenizer:\n  pad_to_multiple_of: 0\n", /pad_to_multiple_of must be an integer from 1/);
  await refused(
    "tokenizer:\n  tokens:\n    cd:\n      source: {kind: one}\n",
    /kind must be zero or model_token/,
  );
  await refused(
    "tokenizer_source: model:/elsewhere\n",
    /tokenizer_source \/elsewhere is not a model of this config/,
  );
});

test("review mends: stale slow-tokenizer files dropped, config ids follow a model: tokenizer, slices and ids past rows refused", async () => {
  // A slow tokenizer's files beside tokenizer.json would not know the appended tokens.
  const slow = await model(5);
  withVocabulary(
    slow,
    ["ab", "xy"],
    [
      ["a", "b"],
      ["x", "y"],
    ],
    [],
  );
  writeFileSync(join(slow, "vocab.json"), "{}");
  writeFileSync(join(slow, "added_tokens.json"), "{}");
  const o = out();
  await mergeModels(
    config(
      `models:\n  - model: ${slow}\n    parameters:\n      weight: 0.5\n  - model: ${b}\n    parameters:\n      weight: 0.5\nmerge_method: linear\ntokenizer_source: union\n`,
    ),
    { out: o },
  );
  for (const f of ["vocab.json", "added_tokens.json"]) assert.equal(existsSync(join(o, f)), false, f);
  assert.ok(existsSync(join(o, "tokenizer.json")));

  // Same vocabulary, tokenizer from the second model: config.json's special ids are that model's.
  const twin = await model(6);
  withVocabulary(
    twin,
    ["ab", "xy"],
    [
      ["a", "b"],
      ["x", "y"],
    ],
    [],
  );
  writeFileSync(
    join(twin, "config.json"),
    JSON.stringify({ ...readJson(join(twin, "config.json")), eos_token_id: 7 }),
  );
  const same = out();
  await mergeModels(
    config(
      `models:\n  - model: ${a}\n    parameters:\n      weight: 0.5\n  - model: ${twin}\n    parameters:\n      weight: 0.5\nmerge_method: linear\ntokenizer_source: model:${twin}\n`,
    ),
    { out: same },
  );
  assert.equal(readJson(join(same, "config.json")).eos_token_id, 7);

  // Slices whose first slice does not read every model: the defaults would come from models the
  // embeddings are not merged from.
  const slicesCfg = config(
    `slices:\n  - sources:\n      - model: ${a}\n        layer_range: [0, 1]\n        parameters:\n          weight: 1\n  - sources:\n      - model: ${a}\n        layer_range: [1, 2]\n        parameters:\n          weight: 0.5\n      - model: ${b}\n        layer_range: [1, 2]\n        parameters:\n          weight: 0.5\nmerge_method: linear\ntokenizer_source: union\n`,
  );
  await assert.rejects(
    mergeModels(slicesCfg, { out: out() }),
    /slices\[0\] does not read every model of the config/,
  );

  // A carried tokenizer with a token past its own embedding rows would collide with appended ids.
  const short = await fixture(root, {
    family: "llama",
    layers: 2,
    seed: 8,
    dtype: "F32",
    tied: false,
    dims: { vocab: 260 },
  });
  withVocabulary(
    short,
    ["ab", "xy"],
    [
      ["a", "b"],
      ["x", "y"],
    ],
    [],
  );
  await assert.rejects(
    mergeModels(
      config(
        `models:\n  - model: ${short}\n    parameters:\n      weight: 0.5\n  - model: ${b}\n    parameters:\n      weight: 0.5\nmerge_method: linear\ntokenizer_source: union\n`,
      ),
      { out: out() },
    ),
    /its tokenizer has 1 token\(s\) at ids past its 260 embedding rows \("xy", …\)/,
  );
});
