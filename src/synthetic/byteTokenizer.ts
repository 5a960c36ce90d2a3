// A byte-level BPE tokenizer with no merges: every byte is a token. Real files in the Hugging Face
// tokenizer.json format, so synthetic models carry tokenizer files a loader accepts.

export const SPECIAL_TOKENS = ["<s>", "</s>", "<pad>"] as const;

/** GPT-2's byte-to-character table: printable bytes stand for themselves, the rest shift above 255. */
export function byteToChar(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + shifted++));
  return out;
}

/** The files of the tokenizer: name → content. Token ids 0–255 are bytes, then the special tokens. */
export function byteTokenizerFiles(): Record<string, string> {
  const chars = byteToChar();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  SPECIAL_TOKENS.forEach((t, i) => (vocab[t] = 256 + i));
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t, i) => ({
      id: 256 + i,
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const config = {
    bos_token: "<s>",
    eos_token: "</s>",
    pad_token: "<pad>",
    add_bos_token: true,
    add_eos_token: false,
    model_max_length: 2048,
    tokenizer_class: "PreTrainedTokenizerFast",
    chat_template:
      "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}" +
      "{% if add_generation_prompt %}<s>assistant\n{% endif %}",
  };
  const special = { bos_token: "<s>", eos_token: "</s>", pad_token: "<pad>" };
  const generation = { bos_token_id: 256, eos_token_id: 257, pad_token_id: 258, max_new_tokens: 64 };
  const j = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
  return {
    "tokenizer.json": j(tokenizer),
    "tokenizer_config.json": j(config),
    "special_tokens_map.json": j(special),
    "generation_config.json": j(generation),
  };
}
