// Loads a Hugging Face model folder's tokenizer with tokenizers.js (@huggingface/tokenizers), and
// gives it the defaults transformers' AutoTokenizer would: BOS/EOS from tokenizer_config.json's
// add_bos_token/add_eos_token, no clean-up of spaces on decode unless the config asks for it, the
// special token ids, and the chat template.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { readJsonObject } from "../checkpoint/jsonFile.js";
import { PREVIEW_CHARS, previewJson } from "../checkpoint/previewJson.js";
import { CONFIG_FILE, MAX_CONFIG_BYTES } from "../checkpoint/modelFolder.js";
import { resolveModel } from "../checkpoint/resolveModel.js";
import { CheckpointError, UsageError } from "../errors.js";
import { ChatTemplate, findChatTemplate, CHAT_TEMPLATE_FILE, type ChatMessage } from "./chatTemplate.js";
import { type BuiltinTemplate, builtinChatTemplate } from "./builtinTemplates.js";
import { decodeIncrement } from "./decodeIncrement.js";
import { highestTokenId, isTokenId, MAX_TOKEN_IDS } from "./tokenIds.js";

export const TOKENIZER_FILE = "tokenizer.json";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
export const SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json";
export const GENERATION_CONFIG_FILE = "generation_config.json";

/**
 * tokenizer.json is read whole and parsed with JSON.parse, so its size is what it costs in memory
 * (several times over as JS objects). The largest published ones (262k-token vocabularies with
 * their merges, e.g. Gemma 3) are ~35 MB; 256 MB leaves room and stops a wrong file before it is
 * read into memory.
 */
export const MAX_TOKENIZER_BYTES = 256 * 1024 * 1024;
/** tokenizer_config.json holds options, the chat template and an added_tokens_decoder that reaches a
 * few MB for models with many added tokens; 16 MB is not a config. */
export const MAX_TOKENIZER_CONFIG_BYTES = 16 * 1024 * 1024;

export type { ChatMessage } from "./chatTemplate.js";

export interface Tokenizer {
  /** The folder the files were read from (the snapshot, for a Hugging Face cache path). */
  readonly dir: string;
  /** Number of token ids, added tokens included (transformers' len(tokenizer)); config.json's
   * vocab_size may be larger (embeddings padded to a multiple of 64 or 128). */
  readonly vocabSize: number;
  readonly bosId?: number;
  /** Ids that end generation: tokenizer_config's eos_token, then generation_config.json's and
   * config.json's eos_token_id (each an id or a list of ids), without repeats. */
  readonly eosIds: number[];
  readonly padId?: number;
  /** Whether applyChatTemplate has a template to render. */
  readonly hasChatTemplate: boolean;

  /** Token ids as the model's tokenizer gives them by default: with the BOS (and EOS) that
   * tokenizer_config.json's add_bos_token/add_eos_token ask for, or when it says neither, that the
   * tokenizer.json post-processor adds (Llama/Mistral: `<s>`; GPT-2 style: nothing).
   * `addSpecialTokens: false` gives the raw ids. Special tokens written in the text (`</s>`) are
   * recognised as such, as in transformers. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of the ids. Ids the tokenizer does not know (an embedding padded past the vocabulary) are
   * skipped, as the Rust tokenizers library does. */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /**
   * For streaming generation: the text that ids[start:] add after ids[:start] were printed by earlier
   * calls. A character whose bytes are not all there yet is held back (nothing is ever printed that
   * a later token would turn into another character); pass `final` on the last call to flush what
   * is still held back (bytes that never completed a character come out as U+FFFD, as in decode).
   * Typical loop: `out.write(tok.decodeIncrement(ids, printed)); printed = ids.length;`.
   * Each call decodes a few tokens before `start` and the new ones, so it costs O(new tokens).
   */
  decodeIncrement(
    ids: number[],
    start: number,
    opts?: { skipSpecialTokens?: boolean; final?: boolean },
  ): string;
  /** The chat rendered with the model's template (messages, bos_token, eos_token, … and
   * add_generation_prompt passed as transformers does). The result usually starts with the BOS
   * text already: encode it with `addSpecialTokens: false`. Throws UsageError when the model has no
   * chat template or the template refuses the messages. */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

/**
 * The part of tokenizers.js's Tokenizer used here, typed by hand: @huggingface/tokenizers 0.2.0's
 * .d.ts files import each other without file extensions, which NodeNext resolution (this project's)
 * rejects, so the package's own types arrive as `any` (the error hidden by skipLibCheck).
 */
interface HfTokenizerApi {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(
    ids: number[],
    options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null },
  ): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
}

type Json = Record<string, unknown>;

/** readJsonObject with the message kept on one line (V8's JSON.parse errors quote the text, newlines included). */
async function readJson(file: string, maxBytes: number, missingHint = ""): Promise<Json> {
  try {
    return await readJsonObject(file, maxBytes, missingHint);
  } catch (e) {
    if (e instanceof CheckpointError && /[^\S ]/.test(e.message)) {
      const detail = e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message;
      throw new CheckpointError(e.file, detail.replace(/\s+/g, " ").trim());
    }
    throw e;
  }
}

async function readOptionalJson(file: string, maxBytes: number): Promise<Json | undefined> {
  return existsSync(file) ? readJson(file, maxBytes) : undefined;
}

/** A special token as tokenizer_config.json writes it: a string, or an AddedToken object with `content`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as Json).content === "string")
    return (value as Json).content as string;
  return undefined;
}

/** A `*_token_id` field: absent/null, an id, or (for eos) a list of ids. */
function idList(file: string, config: Json | undefined, key: string): number[] {
  const v = config?.[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list)
    if (!isTokenId(id))
      throw new CheckpointError(
        file,
        `${key} must be a token id (0 to ${MAX_TOKEN_IDS - 1}) or a list of them, not ${previewJson(v)}`,
      );
  return list as number[];
}

/** Reads tokenizer.json (required) and tokenizer_config.json, special_tokens_map.json,
 * generation_config.json, config.json and chat_template.jinja (each optional) from a model folder,
 * a `models--ORG--NAME` cache folder or an ORG/NAME[@REV] Hub id (see resolveModel). With
 * `template`, chat is rendered with that built-in template instead of the model's own. Every id the
 * tokenizer can produce must be a row of the model's embedding (config.json's vocab_size), checked
 * here once rather than failing inside a forward pass; `embeddingRows: false` skips that for a
 * tokenizer staged beside a config.json whose embedding is about to grow. */
export async function loadTokenizer(
  input: string,
  opts: { template?: BuiltinTemplate; embeddingRows?: false } = {},
): Promise<Tokenizer> {
  const { dir } = await resolveModel(input);
  const tokenizerFile = join(dir, TOKENIZER_FILE);
  const configFile = join(dir, TOKENIZER_CONFIG_FILE);
  const tokenizerJson = await readJson(
    tokenizerFile,
    MAX_TOKENIZER_BYTES,
    ": deepen reads the tokenizer from tokenizer.json (a fast-tokenizer file)",
  );
  const config = (await readOptionalJson(configFile, MAX_TOKENIZER_CONFIG_BYTES)) ?? {};
  const specialMap = await readOptionalJson(join(dir, SPECIAL_TOKENS_MAP_FILE), MAX_TOKENIZER_CONFIG_BYTES);
  const generationFile = join(dir, GENERATION_CONFIG_FILE);
  const generation = await readOptionalJson(generationFile, MAX_CONFIG_BYTES);
  const modelConfigFile = join(dir, CONFIG_FILE);
  const modelConfig = await readOptionalJson(modelConfigFile, MAX_CONFIG_BYTES);

  const model = tokenizerJson.model;
  if (typeof model !== "object" || model === null || Array.isArray(model))
    throw new CheckpointError(tokenizerFile, "has no model object");
  if (tokenizerJson.added_tokens !== undefined && !Array.isArray(tokenizerJson.added_tokens))
    throw new CheckpointError(tokenizerFile, "added_tokens must be a list");
  // Before tokenizers.js sees them: it sizes arrays by the ids.
  const highestId = highestTokenId(tokenizerFile, tokenizerJson);
  // tokenizers.js insists that these keys exist; null means "none", as in the Rust library.
  const normalized: Json = { added_tokens: [], ...tokenizerJson };
  for (const key of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) normalized[key] ??= null;
  let hf: HfTokenizerApi;
  try {
    hf = new HfTokenizer(normalized, config) as HfTokenizerApi;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // The library's message may quote the file's values: one line, cut short.
    const line = msg.replace(/\s+/g, " ");
    throw new CheckpointError(
      tokenizerFile,
      `not accepted by tokenizers.js: ${line.length > PREVIEW_CHARS * 3 ? `${line.slice(0, PREVIEW_CHARS * 3)}…` : line}`,
    );
  }

  let vocabSize = 0;
  for (const id of hf.get_vocab(true).values()) if (id >= vocabSize) vocabSize = id + 1;

  // Special tokens: tokenizer_config.json first, special_tokens_map.json where it says nothing.
  const special: Record<string, string> = {};
  for (const key of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
    const text = tokenText(config[key]) ?? tokenText(specialMap?.[key]);
    if (text !== undefined) special[key] = text;
  }
  const idOf = (key: string) => (special[key] === undefined ? undefined : hf.token_to_id(special[key]));
  const firstId = (key: string) =>
    idOf(key.replace(/_id$/, "")) ??
    idList(generationFile, generation, key)[0] ??
    idList(modelConfigFile, modelConfig, key)[0];
  const bosId = firstId("bos_token_id");
  const padId = firstId("pad_token_id");
  const eosIds: number[] = [];
  for (const id of [
    idOf("eos_token"),
    ...idList(generationFile, generation, "eos_token_id"),
    ...idList(modelConfigFile, modelConfig, "eos_token_id"),
  ])
    if (id !== undefined && !eosIds.includes(id)) eosIds.push(id);
  const rows = modelConfig?.vocab_size;
  if (opts.embeddingRows !== false && typeof rows === "number" && Number.isInteger(rows) && rows > 0) {
    const past = `past ${CONFIG_FILE}'s vocab_size ${rows} (the rows of the model's embedding)`;
    if (highestId >= rows)
      throw new CheckpointError(tokenizerFile, `assigns token ids up to ${highestId}, ${past}`);
    for (const [what, id] of [
      ["BOS", bosId],
      ["padding", padId],
      ...eosIds.map((e) => ["EOS", e] as const),
    ] as const)
      if (id !== undefined && id >= rows)
        throw new CheckpointError(dir, `the ${what} token id ${id} is ${past}`);
  }

  // transformers (TokenizersBackend, and the Llama-family fast tokenizers before it): when
  // tokenizer_config.json sets add_bos_token or add_eos_token, they replace tokenizer.json's
  // post-processor with "[bos] $A [eos]"; otherwise the post-processor decides. tokenizers.js reads
  // neither flag, so the explicit case is done here.
  const explicit = "add_bos_token" in config || "add_eos_token" in config;
  const flag = (key: string, tokenKey: string): number | undefined => {
    if (config[key] === undefined || config[key] === null || config[key] === false) return undefined;
    if (config[key] !== true) throw new CheckpointError(configFile, `${key} must be true or false`);
    if (special[tokenKey] === undefined) return undefined; // transformers: no token, nothing to add
    const id = hf.token_to_id(special[tokenKey]);
    if (id === undefined)
      throw new CheckpointError(
        configFile,
        `${key} is true but ${tokenKey} ${previewJson(special[tokenKey])} is not in ${TOKENIZER_FILE}'s vocabulary`,
      );
    return id;
  };
  const addBos = flag("add_bos_token", "bos_token");
  const addEos = flag("add_eos_token", "eos_token");

  // transformers has defaulted clean_up_tokenization_spaces to false since v4.45; tokenizers.js to true.
  const cleanUp = config.clean_up_tokenization_spaces === true;
  const decode = (ids: number[], skipSpecialTokens = false): string => {
    const known = ids.filter((id) => hf.id_to_token(id) !== undefined);
    if (known.length === 0) return ""; // tokenizers.js throws on an empty list
    return hf.decode(known, {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: cleanUp,
    });
  };

  // A built-in template given by name replaces the model's own (eval --math --template on a base model).
  const templateSource = opts.template ? undefined : await findChatTemplate(dir, configFile, config);
  const template = opts.template
    ? builtinChatTemplate(opts.template.name, special)
    : templateSource && new ChatTemplate(templateSource, special);

  return {
    dir,
    vocabSize,
    ...(bosId !== undefined && { bosId }),
    eosIds,
    ...(padId !== undefined && { padId }),
    hasChatTemplate: template !== undefined,
    encode(text, opts) {
      const addSpecial = opts?.addSpecialTokens ?? true;
      if (!explicit) return hf.encode(text, { add_special_tokens: addSpecial }).ids;
      const ids = hf.encode(text, { add_special_tokens: false }).ids;
      if (!addSpecial) return ids;
      return [...(addBos === undefined ? [] : [addBos]), ...ids, ...(addEos === undefined ? [] : [addEos])];
    },
    decode: (ids, opts) => decode(ids, opts?.skipSpecialTokens),
    decodeIncrement: (ids, start, opts) =>
      decodeIncrement((part) => decode(part, opts?.skipSpecialTokens), ids, start, opts?.final),
    applyChatTemplate(messages, opts) {
      if (!template)
        throw new UsageError(
          `${dir} has no chat template (no chat_template in ${TOKENIZER_CONFIG_FILE}, no ${CHAT_TEMPLATE_FILE}): it is not a chat model`,
        );
      return template.render(messages, opts?.addGenerationPrompt ?? false);
    },
    tokenToId: (token) => hf.token_to_id(token),
    idToToken: (id) => hf.id_to_token(id),
  };
}
