// Chat templates: where a model folder keeps its template, and rendering it the way transformers'
// apply_chat_template does, with @huggingface/jinja (which, like transformers, lexes with
// trim_blocks and lstrip_blocks and provides raise_exception and strftime_now).

import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { CheckpointError, UsageError } from "../errors.js";

export const CHAT_TEMPLATE_FILE = "chat_template.jinja";
/** Published chat templates are a few KB (the longest, with tool-use branches, ~30 KB); 4 MB is not a template. */
export const MAX_CHAT_TEMPLATE_BYTES = 4 * 1024 * 1024;

export interface ChatMessage {
  role: string;
  content: string;
}

/** A chat template and the file it came from (named in errors). */
export interface ChatTemplateSource {
  file: string;
  template: string;
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * The model's chat template, or undefined when it has none. As in transformers, a chat_template.jinja
 * beside tokenizer_config.json wins over the config's `chat_template`, which is either a string or a
 * list of `{name, template}` from which the one named "default" is taken.
 */
export async function findChatTemplate(
  dir: string,
  configFile: string,
  config: Record<string, unknown>,
): Promise<ChatTemplateSource | undefined> {
  const jinjaFile = join(dir, CHAT_TEMPLATE_FILE);
  if (existsSync(jinjaFile)) {
    const size = (await stat(jinjaFile)).size;
    if (size > MAX_CHAT_TEMPLATE_BYTES)
      throw new CheckpointError(
        jinjaFile,
        `${size} bytes, over the ${MAX_CHAT_TEMPLATE_BYTES}-byte limit for this file`,
      );
    return { file: jinjaFile, template: await readFile(jinjaFile, "utf8") };
  }
  const value = config.chat_template;
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return { file: configFile, template: value };
  if (Array.isArray(value)) {
    const names: string[] = [];
    for (const entry of value) {
      const e = entry as { name?: unknown; template?: unknown } | null;
      if (typeof e !== "object" || e === null || typeof e.name !== "string" || typeof e.template !== "string")
        throw new CheckpointError(configFile, "chat_template list entries must be {name, template} strings");
      if (e.name === "default") return { file: configFile, template: e.template };
      names.push(e.name);
    }
    throw new CheckpointError(
      configFile,
      `chat_template lists templates ${names.map((n) => `"${n}"`).join(", ")} but none named "default"`,
    );
  }
  throw new CheckpointError(configFile, "chat_template must be a string or a list of {name, template}");
}

/** A compiled template; parsing happens once, on first use, so a template @huggingface/jinja rejects
 * only stops chat, not plain encoding. */
export class ChatTemplate {
  private compiled: Template | undefined;

  constructor(
    readonly source: ChatTemplateSource,
    /** bos_token, eos_token, … as strings: transformers passes the special tokens map to the template. */
    private readonly specialTokens: Record<string, string>,
  ) {}

  render(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.compiled) {
      try {
        this.compiled = new Template(this.source.template);
      } catch (e) {
        throw new CheckpointError(this.source.file, `chat template does not parse: ${oneLine(String(e))}`);
      }
    }
    // Once a template parses, what fails while rendering is mostly the template refusing the input
    // through raise_exception (roles not alternating, a system message where none is allowed), so it
    // is reported as a usage error naming the template. (@huggingface/jinja declares raise_exception
    // itself and refuses a redeclaration, so it cannot be told apart from other runtime errors.)
    try {
      return this.compiled.render({
        ...this.specialTokens,
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (e) {
      const msg = oneLine(e instanceof Error ? e.message : String(e));
      throw new UsageError(`the chat template in ${this.source.file} failed on these messages: ${msg}`);
    }
  }
}
