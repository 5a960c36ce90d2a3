// The files of a trained byte-level BPE tokenizer, in the Hugging Face formats: tokenizer.json (the
// fast-tokenizer file that tokenizers in Rust, Python and JS, transformers and llama.cpp's converter
// read), tokenizer_config.json (transformers' options: special tokens, add_bos_token, max length) and
// special_tokens_map.json.
//
// tokenizer.json is GPT-2's layout (ByteLevel pre-tokenizer with the GPT-2 pattern, no prefix
// space; ByteLevel decoder; BPE model with merges as [left, right] pairs, the format tokenizers
// ≥ 0.20 writes) with Llama's BOS handling: a TemplateProcessing post-processor puts the BOS token
// before the text, and tokenizer_config.json says the same (add_bos_token true, add_eos_token false),
// so every loader adds it. The special tokens are added tokens: written in a text, they are read as
// the special token, as transformers does.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from "./loadTokenizer.js";
import type { BpeModel } from "./trainBpe.js";

export const TOKENIZER_FILES = [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE] as const;
/** tokenizer_config.json's model_max_length when none is given. */
export const DEFAULT_MAX_LENGTH = 256;

export interface TokenizerFilesOptions {
  /** tokenizer_config.json's model_max_length: the longest input the model takes, in tokens. */
  maxLength?: number;
}

/** An added special token entry as tokenizer.json and tokenizer_config.json record it. */
export const addedToken = (content: string, id?: number) => ({
  ...(id !== undefined && { id }),
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

// Placeholders for the two large members, written by hand: the vocabulary in id order (JSON.stringify
// would put integer-like keys such as "10" first) and one merge per line.
const VOCAB = "@deepen:vocab@";
const MERGES = "@deepen:merges@";

/** A JSON object or list from its member texts, one per line, at `depth` two-space indents. */
function listText(members: string[], brackets: "{}" | "[]", depth: number): string {
  if (members.length === 0) return brackets;
  const pad = "  ".repeat(depth);
  return `${brackets[0]}\n${pad}${members.join(`,\n${pad}`)}\n${"  ".repeat(depth - 1)}${brackets[1]}`;
}

/** The files' contents, name → text (JSON with two-space indents and a final newline). The same
 * model gives the same bytes. */
export function tokenizerFiles(model: BpeModel, opts: TokenizerFilesOptions = {}): Record<string, string> {
  const { bos, eos, pad } = model.special;
  const text = (id: number) => model.tokens[id]!;
  const specialIds = [bos, eos, pad].sort((x, y) => x - y);
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  const bosPiece = (typeId: number) => ({ SpecialToken: { id: text(bos), type_id: typeId } });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specialIds.map((id) => addedToken(text(id), id)),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: "TemplateProcessing",
      single: [bosPiece(0), { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        bosPiece(0),
        { Sequence: { id: "A", type_id: 0 } },
        bosPiece(1),
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [text(bos)]: { id: text(bos), ids: [bos], tokens: [text(bos)] } },
    },
    decoder: { ...byteLevel, add_prefix_space: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: VOCAB,
      merges: MERGES,
    },
  };
  const added_tokens_decoder: Record<string, unknown> = {};
  for (const id of specialIds) added_tokens_decoder[String(id)] = addedToken(text(id));
  const config = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder,
    bos_token: text(bos),
    clean_up_tokenization_spaces: false,
    eos_token: text(eos),
    model_max_length: opts.maxLength ?? DEFAULT_MAX_LENGTH,
    pad_token: text(pad),
    tokenizer_class: "PreTrainedTokenizerFast",
  };
  const special = { bos_token: text(bos), eos_token: text(eos), pad_token: text(pad) };
  const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
  return {
    [TOKENIZER_FILE]: json(tokenizer)
      .replace(`"${VOCAB}"`, () =>
        listText(
          model.tokens.map((t, id) => `${JSON.stringify(t)}: ${id}`),
          "{}",
          3,
        ),
      )
      .replace(`"${MERGES}"`, () =>
        listText(
          model.merges.map((m) => JSON.stringify(m)),
          "[]",
          3,
        ),
      ),
    [TOKENIZER_CONFIG_FILE]: json(config),
    [SPECIAL_TOKENS_MAP_FILE]: json(special),
  };
}

/** Writes tokenizerFiles(model) into the folder `dir` (which must exist). */
export async function writeTokenizerFiles(
  dir: string,
  model: BpeModel,
  opts: TokenizerFilesOptions = {},
): Promise<void> {
  for (const [name, content] of Object.entries(tokenizerFiles(model, opts)))
    await writeFile(join(dir, name), content);
}
