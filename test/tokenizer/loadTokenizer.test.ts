import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CheckpointError, UsageError } from "../../src/errors.js";
import { byteTokenizerFiles } from "../fixtures/byteTokenizer.js";
import { STREAM_CONTEXT_TOKENS } from "../../src/tokenizer/decodeIncrement.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/loadTokenizer.js";
import { tempDir } from "../helpers.js";

const root = tempDir("deepen-tokenizer-");
let count = 0;

type Files = Record<string, string | undefined>;
const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";

/** Writes `files` into a fresh folder; an undefined value leaves that file out. */
function folder(files: Files): string {
  const dir = join(root, `t${count++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files))
    if (content !== undefined) writeFileSync(join(dir, name), content);
  return dir;
}

/** The byte-level fixture, with tokenizer_config.json and generation_config.json edited. */
function byteFolder(
  editConfig: (c: Record<string, unknown>) => void = () => {},
  extra: Files = {},
  editGeneration: (g: Record<string, unknown>) => void = () => {},
): string {
  const files = byteTokenizerFiles();
  const config = JSON.parse(files["tokenizer_config.json"]!) as Record<string, unknown>;
  editConfig(config);
  const generation = JSON.parse(files["generation_config.json"]!) as Record<string, unknown>;
  editGeneration(generation);
  return folder({
    ...files,
    "tokenizer_config.json": json(config),
    "generation_config.json": json(generation),
    ...extra,
  });
}

const SAMPLES = [
  "hello world",
  "café, naïve, Ångström, façade",
  "日本語のテキストと中文",
  "emoji 🎉👩‍👩‍👧 flags 🇫🇷 and ZWJ",
  "  two leading spaces, a . spaced period , and a tab\tthen\nnewlines\r\n",
  "math: ∀x ∈ ℝ, x² ≥ 0; 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
];

/** Decodes token by token as `deepen generate` would; returns the printed pieces. */
function stream(tok: Tokenizer, ids: number[], chunk = 1, skipSpecialTokens = false): string[] {
  const pieces: string[] = [];
  let printed = 0;
  for (let n = Math.min(chunk, ids.length); ; n = Math.min(n + chunk, ids.length)) {
    pieces.push(tok.decodeIncrement(ids.slice(0, n), printed, { skipSpecialTokens }));
    printed = n;
    if (n === ids.length) break;
  }
  pieces.push(tok.decodeIncrement(ids, printed, { skipSpecialTokens, final: true }));
  return pieces;
}

test("the byte-level fixture loads with its special token ids", async () => {
  const tok = await loadTokenizer(byteFolder());
  assert.equal(tok.vocabSize, 259);
  assert.equal(tok.bosId, 256);
  assert.deepEqual(tok.eosIds, [257]);
  assert.equal(tok.padId, 258);
  assert.equal(tok.tokenToId("</s>"), 257);
  assert.equal(tok.idToToken(256), "<s>");
  assert.equal(tok.hasChatTemplate, true);
});

test("byte-level round trip of arbitrary UTF-8 is exact, one id per byte", async () => {
  const tok = await loadTokenizer(byteFolder());
  for (const text of SAMPLES) {
    const raw = tok.encode(text, { addSpecialTokens: false });
    assert.deepEqual(raw, [...Buffer.from(text, "utf8")], text);
    assert.equal(tok.decode(raw), text);
    // add_bos_token: true in tokenizer_config.json puts <s> first, as transformers does.
    const ids = tok.encode(text);
    assert.deepEqual(ids, [256, ...raw]);
    assert.equal(tok.decode(ids), "<s>" + text);
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), text);
  }
  // Special tokens written in the text are single tokens.
  assert.deepEqual(tok.encode("<s>hi</s>", { addSpecialTokens: false }), [256, 104, 105, 257]);
  assert.equal(tok.decode([]), "");
  // Ids past the vocabulary (an embedding padded beyond it) are skipped, as in the Rust library.
  assert.equal(tok.decode([104, 300, 105, -1]), "hi");
});

test("BOS and EOS follow add_bos_token/add_eos_token, else the post-processor", async () => {
  const text = "abc";
  const raw = [97, 98, 99];
  const noBos = await loadTokenizer(byteFolder((c) => (c.add_bos_token = false)));
  assert.deepEqual(noBos.encode(text), raw);
  // Without either flag the ByteLevel post-processor decides: GPT-2 style, nothing added.
  const gpt2 = await loadTokenizer(
    byteFolder((c) => {
      delete c.add_bos_token;
      delete c.add_eos_token;
    }),
  );
  assert.deepEqual(gpt2.encode(text), raw);
  const both = await loadTokenizer(byteFolder((c) => (c.add_eos_token = true)));
  assert.deepEqual(both.encode(text), [256, ...raw, 257]);
  assert.deepEqual(both.encode(text, { addSpecialTokens: false }), raw);
});

test("clean_up_tokenization_spaces is off unless the config turns it on", async () => {
  const text = "a . b , c";
  const plain = await loadTokenizer(byteFolder());
  assert.equal(plain.decode(plain.encode(text)), "<s>" + text);
  const cleaned = await loadTokenizer(byteFolder((c) => (c.clean_up_tokenization_spaces = true)));
  assert.equal(cleaned.decode(cleaned.encode(text, { addSpecialTokens: false })), "a. b, c");
});

test("eos ids gather tokenizer_config, generation_config lists and config.json", async () => {
  const dir = byteFolder(
    (c) => delete c.bos_token,
    { "config.json": json({ bos_token_id: 256, eos_token_id: 257 }) },
    (g) => {
      g.eos_token_id = [257, 97];
      delete g.bos_token_id;
    },
  );
  rmSync(join(dir, "special_tokens_map.json"));
  const tok = await loadTokenizer(dir);
  assert.deepEqual(tok.eosIds, [257, 97]);
  assert.equal(tok.bosId, 256); // from config.json, as neither tokenizer file names one
  // Without any tokenizer_config.json, special_tokens_map.json names the tokens.
  const bare = byteFolder(() => {}, { "tokenizer_config.json": undefined });
  const t2 = await loadTokenizer(bare);
  assert.equal(t2.bosId, 256);
  assert.deepEqual(t2.eosIds, [257]);
  assert.equal(t2.hasChatTemplate, false);
  assert.deepEqual(t2.encode("a"), [97]); // no add_bos_token: the post-processor adds nothing
});

test("the chat template renders with messages, special tokens and the generation prompt", async () => {
  const tok = await loadTokenizer(byteFolder());
  const messages = [
    { role: "user", content: "Hi ça va? 🎉" },
    { role: "assistant", content: "Oui." },
  ];
  assert.equal(tok.applyChatTemplate(messages), "<s>user\nHi ça va? 🎉</s>\n<s>assistant\nOui.</s>\n");
  assert.equal(
    tok.applyChatTemplate(messages.slice(0, 1), { addGenerationPrompt: true }),
    "<s>user\nHi ça va? 🎉</s>\n<s>assistant\n",
  );
  // bos_token/eos_token come from the config, trim_blocks/lstrip_blocks as in transformers.
  const named = await loadTokenizer(
    byteFolder((c) => {
      c.chat_template = [
        { name: "tool_use", template: "tools" },
        {
          name: "default",
          template:
            "{{ bos_token }}{% for m in messages %}\n  {% if m.role == 'user' %}\n" +
            "[{{ m.role }}] {{ m.content }}{{ eos_token }}\n  {% endif %}\n{% endfor %}",
        },
      ];
    }),
  );
  assert.equal(
    named.applyChatTemplate([
      { role: "user", content: "x" },
      { role: "assistant", content: "y" },
    ]),
    "<s>[user] x</s>\n",
  );
});

test("chat_template.jinja wins over the config; errors name what is wrong", async () => {
  const fromFile = await loadTokenizer(
    byteFolder(() => {}, { "chat_template.jinja": "{% for m in messages %}{{ m.content }}|{% endfor %}" }),
  );
  assert.equal(fromFile.applyChatTemplate([{ role: "user", content: "a" }]), "a|");

  const none = await loadTokenizer(byteFolder((c) => delete c.chat_template));
  assert.throws(() => none.applyChatTemplate([]), UsageError);
  assert.throws(() => none.applyChatTemplate([]), /has no chat template/);

  const strict = await loadTokenizer(
    byteFolder((c) => {
      c.chat_template =
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with the user') }}{% endif %}ok";
    }),
  );
  assert.equal(strict.applyChatTemplate([{ role: "user", content: "" }]), "ok");
  assert.throws(
    () => strict.applyChatTemplate([{ role: "system", content: "" }]),
    (e: unknown) => e instanceof UsageError && /Conversation must start with the user/.test(e.message),
  );

  const broken = await loadTokenizer(byteFolder((c) => (c.chat_template = "{% for m in messages %}")));
  assert.throws(
    () => broken.applyChatTemplate([]),
    (e: unknown) =>
      e instanceof CheckpointError && e.file.endsWith("tokenizer_config.json") && !e.message.includes("\n"),
  );

  await assert.rejects(
    loadTokenizer(byteFolder((c) => (c.chat_template = [{ name: "tool_use", template: "x" }]))),
    /tokenizer_config\.json: chat_template lists templates "tool_use" but none named "default"/,
  );
});

test("incremental decoding never prints a broken character", async () => {
  const tok = await loadTokenizer(byteFolder());
  for (const text of SAMPLES) {
    const ids = tok.encode(text);
    for (const chunk of [1, 2, 3, 5]) {
      const pieces = stream(tok, ids, chunk, true);
      for (const p of pieces) assert.ok(!p.includes("\uFFFD"), `${JSON.stringify(p)} in ${text}`);
      assert.equal(pieces.join(""), text);
    }
    assert.equal(stream(tok, ids).join(""), "<s>" + text);
  }
  // A 4-byte emoji arrives as 4 tokens: nothing is printed until the last.
  const emoji = tok.encode("🎉", { addSpecialTokens: false });
  assert.deepEqual(stream(tok, emoji), ["", "", "", "🎉", ""]);
  // Random text, longer than the decoding window.
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const ranges = [
    [0x20, 0x7e],
    [0xa0, 0x24f],
    [0x3040, 0x30ff],
    [0x4e00, 0x9fff],
    [0x1f300, 0x1faff],
  ];
  for (let trial = 0; trial < 20; trial++) {
    let text = "";
    for (let i = 0; i < 12 + rand(30); i++) {
      const [lo, hi] = ranges[rand(ranges.length)]!;
      text += String.fromCodePoint(lo! + rand(hi! - lo! + 1));
    }
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.ok(ids.length > STREAM_CONTEXT_TOKENS);
    const pieces = stream(tok, ids, 1 + rand(4));
    for (const p of pieces) assert.ok(!p.includes("\uFFFD"));
    assert.equal(pieces.join(""), text);
  }
  // Bytes that never complete a character are held back, then flushed as decode() shows them.
  const cut = [104, 105, 0xe6, 0x97];
  assert.equal(tok.decodeIncrement(cut, 0), "hi");
  assert.equal(tok.decodeIncrement(cut, 4, { final: true }), "\uFFFD");
  assert.equal(tok.decode(cut), "hi\uFFFD");
  assert.equal(tok.decodeIncrement([...cut, 33], 4), "\uFFFD!");
  assert.throws(() => tok.decodeIncrement(cut, 5), RangeError);
});

/**
 * A tiny Llama-style tokenizer: SentencePiece BPE (▁ for spaces, prepended by the normalizer),
 * byte fallback tokens <0x00>…<0xFF>, and a TemplateProcessing post-processor adding <s>.
 */
function llamaFiles(config: Record<string, unknown>): Files {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  const merges = ["▁ h", "l o", "e l", "▁h el", "▁hel lo", "▁ w", "o r", "▁w or", "l d", "▁wor ld"];
  const pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", ...merges.map((m) => m.replace(" ", ""))];
  for (const p of pieces) vocab[p] ??= Object.keys(vocab).length;
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const seq = (id: "A" | "B", type_id: number) => ({ Sequence: { id, type_id } });
  const bos = (type_id: number) => ({ SpecialToken: { id: "<s>", type_id } });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [bos(0), seq("A", 0)],
      pair: [bos(0), seq("A", 0), bos(1), seq("B", 1)],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return {
    "tokenizer.json": json(tokenizer),
    "tokenizer_config.json": json({
      bos_token: { __type: "AddedToken", content: "<s>", lstrip: false, normalized: false, rstrip: false },
      eos_token: { __type: "AddedToken", content: "</s>", lstrip: false, normalized: false, rstrip: false },
      unk_token: "<unk>",
      tokenizer_class: "LlamaTokenizer",
      ...config,
    }),
  };
}

test("a Llama-style tokenizer: BOS from the TemplateProcessing post-processor, byte fallback", async () => {
  const tok = await loadTokenizer(folder(llamaFiles({})));
  const hello = tok.tokenToId("▁hello")!;
  const world = tok.tokenToId("▁world")!;
  assert.deepEqual(tok.encode("hello world"), [1, hello, world]);
  assert.deepEqual(tok.encode("hello world", { addSpecialTokens: false }), [hello, world]);
  assert.equal(tok.bosId, 1);
  assert.deepEqual(tok.eosIds, [2]);
  assert.equal(tok.padId, undefined);
  assert.equal(tok.vocabSize, 3 + 256 + 18);
  // é is not in the vocabulary: its two UTF-8 bytes become <0xC3> <0xA9>.
  const ids = tok.encode("héllo", { addSpecialTokens: false });
  assert.deepEqual(ids.slice(1, 3), [3 + 0xc3, 3 + 0xa9]);
  for (const text of SAMPLES.slice(0, 4).concat(["hello world ".repeat(6) + "日本", " lead"])) {
    const all = tok.encode(text);
    assert.equal(all[0], 1);
    assert.equal(tok.decode(all, { skipSpecialTokens: true }), text);
    // SentencePiece drops the first space of the text; streamed windows must not drop others.
    const pieces = stream(tok, all, 1, true);
    for (const p of pieces) assert.ok(!p.includes("\uFFFD"));
    assert.equal(pieces.join(""), text);
  }
  // add_bos_token: false in the config overrides the post-processor, as in transformers.
  const off = await loadTokenizer(folder(llamaFiles({ add_bos_token: false, add_eos_token: true })));
  assert.deepEqual(off.encode("hello"), [hello, 2]);
});

function assertOneLine(file: string) {
  return (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(file + ": "), e.message);
    assert.ok(!/[\r\n]/.test(e.message), JSON.stringify(e.message));
    return true;
  };
}

test("bad inputs give one-line CheckpointErrors naming the file", async () => {
  const missing = byteFolder();
  rmSync(join(missing, "tokenizer.json"));
  await assert.rejects(loadTokenizer(missing), assertOneLine(join(missing, "tokenizer.json")));
  await assert.rejects(loadTokenizer(missing), /missing/);

  const invalid = byteFolder(() => {}, { "tokenizer.json": "not json\n{ at all" });
  await assert.rejects(loadTokenizer(invalid), assertOneLine(join(invalid, "tokenizer.json")));
  await assert.rejects(loadTokenizer(invalid), /not valid JSON/);

  const badConfig = byteFolder(() => {}, { "tokenizer_config.json": '{\n"bos_token": "<s>",\n' });
  await assert.rejects(loadTokenizer(badConfig), assertOneLine(join(badConfig, "tokenizer_config.json")));

  const noModel = byteFolder(() => {}, { "tokenizer.json": json({ version: "1.0", added_tokens: [] }) });
  await assert.rejects(loadTokenizer(noModel), assertOneLine(join(noModel, "tokenizer.json")));

  const files = byteTokenizerFiles();
  const unknown = JSON.parse(files["tokenizer.json"]!) as Record<string, unknown>;
  unknown.post_processor = { type: "NoSuchProcessor" };
  const rejected = byteFolder(() => {}, { "tokenizer.json": json(unknown) });
  await assert.rejects(loadTokenizer(rejected), assertOneLine(join(rejected, "tokenizer.json")));
  await assert.rejects(loadTokenizer(rejected), /not accepted by tokenizers\.js: Unknown PostProcessor type/);

  const badEos = byteFolder(
    () => {},
    {},
    (g) => (g.eos_token_id = ["</s>"]),
  );
  await assert.rejects(loadTokenizer(badEos), assertOneLine(join(badEos, "generation_config.json")));

  const badFlag = byteFolder((c) => (c.bos_token = "<nope>"));
  await assert.rejects(loadTokenizer(badFlag), /add_bos_token is true but bos_token "<nope>" is not in/);

  await assert.rejects(loadTokenizer(join(root, "no-such-folder")), CheckpointError);
});

test("token ids: every id the tokenizer can produce is checked once at load, against a named limit and the embedding", async () => {
  const edited = (
    edit: (t: Record<string, unknown>) => void,
    extra: Files = {},
    base: Files = byteTokenizerFiles(),
  ) => {
    const t = JSON.parse(base["tokenizer.json"]!) as Record<string, unknown>;
    edit(t);
    return folder({ ...base, "tokenizer.json": json(t), ...extra });
  };
  const vocabOf = (t: Record<string, unknown>) => (t.model as { vocab: Record<string, number> }).vocab;
  const refused = async (dir: string, file: string, pattern: RegExp) => {
    await assert.rejects(loadTokenizer(dir), assertOneLine(join(dir, file)));
    await assert.rejects(loadTokenizer(dir), pattern);
  };
  // Against the limit, before tokenizers.js sizes anything by them.
  await refused(
    edited((t) => (vocabOf(t)["a"] = -1)),
    "tokenizer.json",
    /token "a" has id -1; token ids run from 0 to 16777215/,
  );
  await refused(
    edited((t) => (vocabOf(t)["a"] = 1e9)),
    "tokenizer.json",
    /token "a" has id 1000000000/,
  );
  await refused(
    edited((t) => (vocabOf(t)["a"] = 1.5)),
    "tokenizer.json",
    /token "a" has id 1\.5/,
  );
  await refused(
    edited((t) => ((t.added_tokens as { id: number }[])[0]!.id = 2 ** 24)),
    "tokenizer.json",
    /added token "<s>" has id 16777216/,
  );
  const llama = llamaFiles({});
  await refused(
    edited(
      (t) =>
        ((t.post_processor as { special_tokens: Record<string, { ids: number[] }> }).special_tokens[
          "<s>"
        ]!.ids = [-3]),
      {},
      llama,
    ),
    "tokenizer.json",
    /post_processor special token "<s>" has id -3/,
  );
  await refused(
    byteFolder(
      () => {},
      {},
      (g) => (g.eos_token_id = 2 ** 40),
    ),
    "generation_config.json",
    /eos_token_id must be a token id \(0 to 16777215\) or a list of them, not 1099511627776/,
  );
  // Against config.json's vocab_size, the rows of the embedding (the engine checks it against the tensor).
  const model = (vocabSize: number) => ({
    "config.json": json({ vocab_size: vocabSize, eos_token_id: 257 }),
  });
  await loadTokenizer(byteFolder(() => {}, model(259)));
  await refused(
    byteFolder(() => {}, model(258)),
    "tokenizer.json",
    /assigns token ids up to 258, past config\.json's vocab_size 258 \(the rows of the model's embedding\)/,
  );
  const pastEos = byteFolder(
    () => {},
    model(259),
    (g) => (g.eos_token_id = [257, 300]),
  );
  await assert.rejects(
    loadTokenizer(pastEos),
    (e: Error) =>
      e.message ===
      `${pastEos}: the EOS token id 300 is past config.json's vocab_size 259 (the rows of the model's embedding)`,
  );
  // A tokenizer staged for an embedding about to grow is not held to the old size.
  assert.equal(
    (
      await loadTokenizer(
        byteFolder(() => {}, model(258)),
        { embeddingRows: false },
      )
    ).vocabSize,
    259,
  );
});
