// Built-in chat templates: what `--template NAME` renders instruction data with when the model has no
// template of its own, or to override the one it has. Templates are data (one table, as mergekit keeps
// them): each row is Jinja rendered by `ChatTemplate` exactly as transformers' apply_chat_template
// renders a model's own template, plus the facts training needs around it (the tokens a base
// vocabulary may lack, where an assistant turn ends).
//
// Each template is written here, and each renders byte for byte what its family's published template
// renders, including where that template refuses a conversation and with which message: a model
// fine-tuned on the family's format sees the same text at inference from the family's own template.
// The Jinja is laid out one statement a line; `{%-`/`{{-` strip the layout (with the trim_blocks and
// lstrip_blocks that @huggingface/jinja applies, as transformers does), so only the quoted strings
// reach the output.
//
// bos_token and eos_token are variables wherever the family's template uses the variables (a Llama-3
// template rendered for a model whose BOS is `<s>` starts with `<s>`, as the Llama-3 template itself
// would). A tokenizer without one of them gets the family's own value (`defaultTokens`).

import { UsageError } from "../errors.js";
import { ChatTemplate } from "./chatTemplate.js";

export interface BuiltinTemplate {
  /** The name `--template` takes: "chatml". */
  name: string;
  /** The Jinja source, rendered with `messages`, `add_generation_prompt` and the special tokens. */
  template: string;
  /** Special tokens the rendered text contains that a base vocabulary may lack, which --add-chat-tokens
   * adds (chatml: ["<|im_start|>", "<|im_end|>"]); bos/eos come from the tokenizer and are not listed.
   * Markers the family's own tokenizer splits as ordinary text ("[INST]" in Llama 2 and Mistral v0.2,
   * "<|user|>" in Zephyr) are not listed either: making them single tokens would tokenize the text
   * differently from the family. */
  chatTokens: string[];
  /** The token that closes an assistant turn and where generation must stop: a literal token
   * ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>") or "eos" when the template closes turns
   * with eos_token. */
  endOfTurn: string;
  /** The values of the special-token variables the template uses, as the family's own tokenizer has
   * them; rendering uses them only for a variable the model's tokenizer lacks (see `templateTokens`).
   * The template itself never hard-codes them, so a model's own BOS/EOS always win. */
  defaultTokens: { bos_token?: string; eos_token?: string };
  /** Where the format is documented (model card / repo), one line. */
  reference: string;
}

/** The refusal Llama 2, Mistral v0.1/v0.2 and Gemma 1/2 templates raise, word for word, so a data error
 * reads the same whichever of them (or of these) rendered it. */
const ALTERNATE = "Conversation roles must alternate user/assistant/user/assistant/...";

/** Stanford Alpaca's preamble for an instruction without input. */
const ALPACA_PREAMBLE =
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

// String.raw keeps the Jinja as Jinja: `'\n'` below is the two characters backslash-n, which the Jinja
// string literal turns into a newline, and the layout newlines are stripped by the `-` markers.

/** ChatML as OpenHermes-2.5 writes it: every role as given, no default system message (Qwen's templates
 * add "You are a helpful assistant." when there is none; give it explicitly to match them). */
const CHATML = String.raw`
{%- for message in messages %}
    {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}`;

/** Llama-2-chat: the system message folded into the first user turn inside <<SYS>>, both sides stripped
 * of surrounding whitespace, each user turn opening with bos_token, each answer closed by eos_token.
 * The template has no generation prompt: a prompt ends with " [/INST]" and the answer begins with a
 * space. As in the original, only user/non-user alternation is checked; a role other than user or
 * assistant in an assistant's place renders nothing. Whether there is a system message is asked with
 * `is defined`, not by comparing its text to false as the original does: @huggingface/jinja compares
 * loosely ('' and '0' equal false), which would drop an empty system block that transformers keeps. */
const LLAMA2 = String.raw`
{%- if messages | length > 0 and messages[0].role == 'system' %}
    {%- set system_text = messages[0].content %}
    {%- set turns = messages[1:] %}
{%- else %}
    {%- set turns = messages %}
{%- endif %}
{%- for message in turns %}
    {%- if (message.role == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('${ALTERNATE}') }}
    {%- endif %}
    {%- set text = message.content %}
    {%- if loop.first and system_text is defined %}
        {%- set text = '<<SYS>>\n' + system_text + '\n<</SYS>>\n\n' + text %}
    {%- endif %}
    {%- if message.role == 'user' %}
        {{- bos_token + '[INST] ' + text.strip() + ' [/INST]' }}
    {%- elif message.role == 'assistant' %}
        {{- ' ' + text.strip() + ' ' + eos_token }}
    {%- endif %}
{%- endfor %}`;

/** Llama-3-Instruct (3.0; 3.1 adds a dated system header and tools): bos_token once, then every message,
 * any role, as a header and its content trimmed, closed by <|eot_id|>. */
const LLAMA3 = String.raw`
{%- for message in messages %}
    {%- if loop.first %}
        {{- bos_token }}
    {%- endif %}
    {{- '<|start_header_id|>' + message.role + '<|end_header_id|>\n\n' + (message.content | trim) + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}`;

/** Mistral-7B-Instruct-v0.2 as released (the template Mixtral-8x7B-Instruct-v0.1 also has): bos_token
 * once, "[INST] … [/INST]" around user turns, answers glued to "[/INST]" and closed by eos_token, content
 * untouched. It has no system message: one at the start fails the alternation check (that is the error
 * it raises), any other role raises its own message. The 2024 revision of the v0.1/v0.2 templates folds
 * a system message into the first user turn but renders " [INST]" with a leading space and refuses
 * with another message; v0.3's goes with control tokens. Neither is this one. */
const MISTRAL = String.raw`
{{- bos_token }}
{%- for message in messages %}
    {%- if (message.role == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('${ALTERNATE}') }}
    {%- endif %}
    {%- if message.role == 'user' %}
        {{- '[INST] ' + message.content + ' [/INST]' }}
    {%- elif message.role == 'assistant' %}
        {{- message.content + eos_token }}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported!') }}
    {%- endif %}
{%- endfor %}`;

/** Zephyr-7b-beta: system, user and assistant turns alike, each closed by eos_token and a newline; other
 * roles render nothing. The generation prompt follows the last message only, so an empty conversation
 * gets none (as in the original). */
const ZEPHYR = String.raw`
{%- for message in messages %}
    {%- if message.role in ['system', 'user', 'assistant'] %}
        {{- '<|' + message.role + '|>\n' + message.content + eos_token + '\n' }}
    {%- endif %}
    {%- if loop.last and add_generation_prompt %}
        {{- '<|assistant|>\n' }}
    {%- endif %}
{%- endfor %}`;

/** Gemma (gemma-7b-it; gemma-2's is the same): bos_token, then turns with assistant named "model" and
 * content trimmed. A system message is refused, as Gemma 1 and 2 refuse it (Gemma 3 folds it into the
 * first user turn). */
const GEMMA = String.raw`
{{- bos_token }}
{%- if messages | length > 0 and messages[0].role == 'system' %}
    {{- raise_exception('System role not supported') }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('${ALTERNATE}') }}
    {%- endif %}
    {%- set role = 'model' if message.role == 'assistant' else message.role %}
    {{- '<start_of_turn>' + role + '\n' + (message.content | trim) + '<end_of_turn>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<start_of_turn>model\n' }}
{%- endif %}`;

/** Phi-3-mini-instruct as revised soon after its April 2024 release (the first release dropped system
 * messages and put bos first): system, user and assistant turns each closed by <|end|> and a newline,
 * other roles nothing, and eos_token at the end of a conversation rendered without a generation prompt. */
const PHI3 = String.raw`
{%- for message in messages %}
    {%- if message.role in ['system', 'user', 'assistant'] %}
        {{- '<|' + message.role + '|>\n' + message.content + '<|end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|assistant|>\n' }}
{%- else %}
    {{- eos_token }}
{%- endif %}`;

/** Alpaca has no published chat template; this is the Stanford prompt made a conversation. A system
 * message, only first, replaces the preamble sentence; then each user turn is an "### Instruction:"
 * block and each assistant turn a "### Response:" block closed by eos_token, blocks separated by a blank
 * line. One exchange is exactly the Stanford no-input prompt followed by the output and EOS. Roles must
 * be user, assistant, user, … after the optional system message (anything else is refused with the
 * alternation message: the format has no place for it). */
const ALPACA = String.raw`
{%- if messages | length > 0 and messages[0].role == 'system' %}
    {%- set preamble = messages[0].content %}
    {%- set turns = messages[1:] %}
{%- else %}
    {%- set preamble = '${ALPACA_PREAMBLE}' %}
    {%- set turns = messages %}
{%- endif %}
{{- preamble }}
{%- for message in turns %}
    {%- if message.role != ('user' if loop.index0 % 2 == 0 else 'assistant') %}
        {{- raise_exception('${ALTERNATE}') }}
    {%- endif %}
    {%- if message.role == 'user' %}
        {{- '\n\n### Instruction:\n' + message.content }}
    {%- else %}
        {{- '\n\n### Response:\n' + message.content + eos_token }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '\n\n### Response:\n' }}
{%- endif %}`;

const TEMPLATES: BuiltinTemplate[] = [
  {
    name: "chatml",
    template: CHATML,
    chatTokens: ["<|im_start|>", "<|im_end|>"],
    endOfTurn: "<|im_end|>",
    defaultTokens: {},
    reference:
      "https://huggingface.co/teknium/OpenHermes-2.5-Mistral-7B (tokenizer_config.json chat_template)",
  },
  {
    name: "llama2",
    template: LLAMA2,
    chatTokens: [],
    endOfTurn: "eos",
    defaultTokens: { bos_token: "<s>", eos_token: "</s>" },
    reference: "https://huggingface.co/meta-llama/Llama-2-13b-chat-hf (tokenizer_config.json chat_template)",
  },
  {
    name: "llama3",
    template: LLAMA3,
    chatTokens: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    endOfTurn: "<|eot_id|>",
    defaultTokens: { bos_token: "<|begin_of_text|>" },
    reference:
      "https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct (tokenizer_config.json chat_template)",
  },
  {
    name: "mistral",
    template: MISTRAL,
    chatTokens: [],
    endOfTurn: "eos",
    defaultTokens: { bos_token: "<s>", eos_token: "</s>" },
    reference:
      "https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.2 (tokenizer_config.json chat_template as released, before the 2024 revision)",
  },
  {
    name: "zephyr",
    template: ZEPHYR,
    chatTokens: [],
    endOfTurn: "eos",
    defaultTokens: { eos_token: "</s>" },
    reference: "https://huggingface.co/HuggingFaceH4/zephyr-7b-beta (tokenizer_config.json chat_template)",
  },
  {
    name: "gemma",
    template: GEMMA,
    chatTokens: ["<start_of_turn>", "<end_of_turn>"],
    endOfTurn: "<end_of_turn>",
    defaultTokens: { bos_token: "<bos>" },
    reference: "https://huggingface.co/google/gemma-7b-it (tokenizer_config.json chat_template)",
  },
  {
    name: "phi3",
    template: PHI3,
    chatTokens: ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
    endOfTurn: "<|end|>",
    defaultTokens: { eos_token: "<|endoftext|>" },
    reference:
      "https://huggingface.co/microsoft/Phi-3-mini-4k-instruct (tokenizer_config.json chat_template as revised after the April 2024 release)",
  },
  {
    name: "alpaca",
    template: ALPACA,
    chatTokens: [],
    endOfTurn: "eos",
    defaultTokens: { eos_token: "</s>" },
    reference: "https://github.com/tatsu-lab/stanford_alpaca (README, prompt without input)",
  },
];

export const BUILTIN_TEMPLATES: Record<string, BuiltinTemplate> = Object.fromEntries(
  TEMPLATES.map((t) => [t.name, t]),
);

/** The built-in template `name`; a usage error listing the names for an unknown one. */
export function builtinTemplate(name: string): BuiltinTemplate {
  const t = Object.hasOwn(BUILTIN_TEMPLATES, name) ? BUILTIN_TEMPLATES[name] : undefined;
  if (!t)
    throw new UsageError(
      `unknown chat template "${name}"; built-in templates: ${Object.keys(BUILTIN_TEMPLATES).join(", ")}`,
    );
  return t;
}

/**
 * The special-token variables to render `t` with: the tokenizer's own (they win: a model's BOS is what
 * its pretraining saw), and the family's value for each variable the template uses that the tokenizer
 * lacks. `filled` names the variables that took the family's value, since their text may be missing from
 * the vocabulary too (a caller adding chat tokens adds those as well).
 */
export function templateTokens(
  t: BuiltinTemplate,
  tokenizerTokens: Record<string, string>,
): { tokens: Record<string, string>; filled: string[] } {
  const tokens = { ...tokenizerTokens };
  const filled: string[] = [];
  for (const [key, value] of Object.entries(t.defaultTokens)) {
    if (tokens[key] === undefined && value !== undefined) {
      tokens[key] = value;
      filled.push(key);
    }
  }
  return { tokens, filled };
}

/** A ChatTemplate that renders the built-in template `name` with the tokenizer's special tokens, filled
 * in as `templateTokens` fills them; its errors name the template. */
export function builtinChatTemplate(name: string, tokenizerTokens: Record<string, string>): ChatTemplate {
  const t = builtinTemplate(name);
  return new ChatTemplate(
    { file: `the built-in template "${t.name}"`, template: t.template },
    templateTokens(t, tokenizerTokens).tokens,
  );
}
