// One instruction example as tokens and the tokens that carry loss. The assistant's tokens are found
// by rendering the conversation prefix by prefix with the chat template and tokenizing the pieces
// between consecutive prefixes, never by searching the text for marker strings: whatever a template
// writes around a message (headers, BOS, newlines, its own system prompt) lands in the piece before
// the message, and the message with its end-of-turn token in the piece that is the message.
import { UsageError } from "../../errors.js";
import type { ChatMessage, Tokenizer } from "../../tokenizer/loadTokenizer.js";

export interface EncodedExample {
  tokens: number[];
  /** 1 where the token is a target that carries loss (index 0 never is: nothing predicts it). */
  trained: Uint8Array;
}

export interface MaskOptions {
  /** Train only the final assistant message of a conversation. */
  lastTurnOnly?: boolean;
  /** Train every token, prompt and scaffolding included. */
  trainOnPrompt?: boolean;
}

/** Which messages are the answer: a prompt-completion record's completion starts at `trainFrom`,
 * and assistant messages before it (few-shot examples in the prompt) are context. */
export interface ChatExample {
  messages: ChatMessage[];
  trainFrom?: number;
}

/**
 * The conversation's tokens: only assistant messages carry loss, each up to and including the
 * end-of-turn token (one of the tokenizer's EOS ids) that closes it; what the template writes after
 * that token (a newline before the next turn) carries none, as it is part of the next turn's header.
 * Messages after the last assistant message are not trained on and are left out.
 */
export function encodeChat(tok: Tokenizer, chat: ChatExample, opts: MaskOptions = {}): EncodedExample {
  const { messages, trainFrom = 0 } = chat;
  const last = messages.findLastIndex((m) => m.role === "assistant");
  if (last < 0) throw new UsageError("no assistant message to train on");
  const tokens: number[] = [];
  const trained: number[] = [];
  const push = (text: string, train: boolean, trimAfterEnd: boolean) => {
    const ids = text === "" ? [] : tok.encode(text, { addSpecialTokens: false });
    let end = ids.length;
    if (trimAfterEnd) {
      const at = ids.findLastIndex((id) => tok.eosIds.includes(id));
      if (at >= 0) end = at + 1;
    }
    ids.forEach((id, i) => {
      tokens.push(id);
      trained.push(opts.trainOnPrompt || (train && i < end) ? 1 : 0);
    });
  };
  let rendered = "";
  for (let i = 0; i <= last; i++) {
    if (messages[i]!.role !== "assistant") continue;
    const prompt = tok.applyChatTemplate(messages.slice(0, i), { addGenerationPrompt: true });
    const full = tok.applyChatTemplate(messages.slice(0, i + 1), { addGenerationPrompt: false });
    if (!prompt.startsWith(rendered) || !full.startsWith(prompt))
      throw new UsageError(
        `the chat template does not render message ${i + 1} as a continuation of the ones before it, so the assistant's tokens cannot be told apart (use --template NAME, or --train-on-prompt)`,
      );
    push(prompt.slice(rendered.length), false, false);
    push(full.slice(prompt.length), i >= trainFrom && (!opts.lastTurnOnly || i === last), true);
    rendered = full;
  }
  const out = Uint8Array.from(trained);
  out[0] = 0;
  return { tokens, trained: out };
}

/** Plain text trained whole: the tokenizer's default ids (with its BOS) and an EOS to end it. */
export function encodeText(tok: Tokenizer, text: string): EncodedExample {
  const tokens = tok.encode(text);
  const eos = tok.eosIds[0];
  if (eos !== undefined && tokens.at(-1) !== eos) tokens.push(eos);
  const trained = new Uint8Array(tokens.length).fill(1);
  trained[0] = 0;
  return { tokens, trained };
}

/** The example cut to its first `seqLen` slots (seqLen + 1 tokens): --truncate. */
export const truncated = (e: EncodedExample, seqLen: number): EncodedExample => ({
  tokens: e.tokens.slice(0, seqLen + 1),
  trained: e.trained.slice(0, seqLen + 1),
});
