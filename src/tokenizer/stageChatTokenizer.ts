// The tokenizer files an instruction-tuned model carries: the base's, with the chat template that
// formats its prompts (so generate --chat, transformers, vLLM and llama.cpp all format them as the
// model was trained), the chat tokens --add-chat-tokens added, and the end-of-turn token among the
// ids generation stops at. They are written to a staging folder that the run loads its tokenizer
// from and each checkpoint copies, so training and every checkpoint see the same files.
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { carriedFiles } from "../checkpoint/carryFiles.js";
import { readJsonObject } from "../checkpoint/jsonFile.js";
import { CONFIG_FILE, MAX_CONFIG_BYTES } from "../checkpoint/modelFolder.js";
import { UsageError } from "../errors.js";
import type { BuiltinTemplate } from "./builtinTemplates.js";
import { CHAT_TEMPLATE_FILE } from "./chatTemplate.js";
import { addedToken } from "./writeTokenizerFiles.js";
import {
  GENERATION_CONFIG_FILE,
  loadTokenizer,
  MAX_TOKENIZER_BYTES,
  MAX_TOKENIZER_CONFIG_BYTES,
  SPECIAL_TOKENS_MAP_FILE,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
  type Tokenizer,
} from "./loadTokenizer.js";

export interface StagedTokenizer {
  /** The staging folder: tokenizer files only. */
  dir: string;
  tokenizer: Tokenizer;
  /** Tokens added, with their ids (consecutive from the base tokenizer's length). */
  added: { token: string; id: number }[];
  /** The base tokenizer's length: the first added id. */
  baseLength: number;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

// Staging folders are named for the process that made them: one whose process is gone (killed
// before it could clean up) is removed by the next run that stages.
const STAGE_PREFIX = "deepen-chat-tokenizer-";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function removeOrphans(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = new RegExp(`^${STAGE_PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid)))
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => {});
  }
}
const write = (file: string, value: unknown) => writeFile(file, JSON.stringify(value, null, 2) + "\n");

/**
 * Stages the tokenizer files of `modelDir` with `format`'s template (none: the model's own) and,
 * when `addTokens`, the format's missing chat tokens added as special tokens. UsageError naming the
 * tokens and the flag when they are missing and may not be added.
 */
export async function stageChatTokenizer(
  modelDir: string,
  base: Tokenizer,
  opts: {
    format?: BuiltinTemplate;
    addTokens: boolean;
    /** What the error for missing tokens tells the user to do (default: --add-chat-tokens). */
    missingHint?: string;
  },
): Promise<StagedTokenizer> {
  const { format } = opts;
  // A BOS or EOS the template writes and the tokenizer lacks takes the family's token (templateTokens).
  const has = { bos_token: base.bosId !== undefined, eos_token: base.eosIds.length > 0 };
  const filled = Object.entries(format?.defaultTokens ?? {}).filter(
    (e): e is [keyof typeof has, string] => e[1] !== undefined && !has[e[0] as keyof typeof has],
  );
  const wanted = [...(format?.chatTokens ?? []), ...filled.map(([, t]) => t)];
  const missing = [...new Set(wanted)].filter((t) => base.tokenToId(t) === undefined);
  if (missing.length > 0 && !opts.addTokens)
    throw new UsageError(
      `--template ${format!.name} writes ${missing.join(", ")}, which ${modelDir}'s vocabulary lacks; ` +
        (opts.missingHint ?? "--add-chat-tokens adds them (and grows the embeddings)"),
    );
  await removeOrphans();
  const dir = await mkdtemp(join(tmpdir(), `${STAGE_PREFIX}${process.pid}-`));
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    for (const name of await carriedFiles(base.dir)) await copyFile(join(base.dir, name), join(dir, name));
    // config.json's eos_token_id is one of the ids generation stops at; checkpoints write their own.
    if (existsSync(join(base.dir, CONFIG_FILE)))
      await copyFile(join(base.dir, CONFIG_FILE), join(dir, CONFIG_FILE));
    const configFile = join(dir, TOKENIZER_CONFIG_FILE);
    const config: Json = existsSync(configFile)
      ? await readJsonObject(configFile, MAX_TOKENIZER_CONFIG_BYTES)
      : {};
    const added = missing.map((token, i) => ({ token, id: base.vocabSize + i }));
    if (format) {
      config.chat_template = format.template;
      for (const [key, token] of filled) config[key] = token;
      // A chat_template.jinja would win over the config's template (transformers reads it first).
      await rm(join(dir, CHAT_TEMPLATE_FILE), { force: true });
    }
    if (added.length > 0) await addSpecialTokens(dir, config, added);
    if (format && format.endOfTurn !== "eos") {
      const eot = format.endOfTurn;
      const eotId = base.tokenToId(eot) ?? added.find((a) => a.token === eot)?.id;
      if (eotId === undefined) throw new UsageError(`--template ${format.name}: no token ${eot}`);
      // transformers' generate and vLLM stop at generation_config's eos ids; tokenizer_config's
      // eos_token is what llama.cpp's converter and chat UIs read as the end of a reply.
      config.eos_token = eot;
      const genFile = join(dir, GENERATION_CONFIG_FILE);
      const gen: Json = existsSync(genFile) ? await readJsonObject(genFile, MAX_CONFIG_BYTES) : {};
      gen.eos_token_id = [eotId, ...base.eosIds.filter((id) => id !== eotId)];
      await write(genFile, gen);
    }
    await write(configFile, config);
    // The staged config.json is the base's: its vocab_size does not count the added tokens yet.
    const tokenizer = await loadTokenizer(dir, { embeddingRows: false });
    for (const { token, id } of added) {
      const ids = tokenizer.encode(token, { addSpecialTokens: false });
      if (ids.length !== 1 || ids[0] !== id)
        throw new UsageError(`${token} does not encode as the single added id ${id} (got ${ids.join(", ")})`);
    }
    return { dir, tokenizer, added, baseLength: base.vocabSize, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Adds tokens to tokenizer.json's added_tokens and tokenizer_config.json, as transformers'
 * add_special_tokens({"additional_special_tokens": …}) records them. */
async function addSpecialTokens(dir: string, config: Json, added: { token: string; id: number }[]) {
  const file = join(dir, TOKENIZER_FILE);
  const tok = await readJsonObject(file, MAX_TOKENIZER_BYTES);
  tok.added_tokens = [
    ...((tok.added_tokens as unknown[] | undefined) ?? []),
    ...added.map((a) => addedToken(a.token, a.id)),
  ];
  await write(file, tok);
  const decoder = (config.added_tokens_decoder ?? {}) as Json;
  for (const a of added) decoder[String(a.id)] = addedToken(a.token);
  config.added_tokens_decoder = decoder;
  const extra = (config.additional_special_tokens as string[] | undefined) ?? [];
  config.additional_special_tokens = [
    ...extra,
    ...added.map((a) => a.token).filter((t) => !extra.includes(t)),
  ];
  const mapFile = join(dir, SPECIAL_TOKENS_MAP_FILE);
  if (existsSync(mapFile)) {
    const map = await readJsonObject(mapFile, MAX_TOKENIZER_CONFIG_BYTES);
    const list = (map.additional_special_tokens as unknown[] | undefined) ?? [];
    map.additional_special_tokens = [...list, ...added.map((a) => a.token)];
    await write(mapFile, map);
  }
}
