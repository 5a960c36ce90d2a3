// Preference records of every shape and the pairs they must read as, shared by the preference tests.

import type { PreferenceFormat, PreferencePair } from "../../../src/data/instruct/preference.js";
import { readPreferencePairs, type PreferenceReadOptions } from "../../../src/data/instruct/preference.js";
import type { ChatMessage } from "../../../src/tokenizer/chatTemplate.js";
import { bot, sys, user } from "./samples.js";

/** Every pair `paths` read as, in order. */
export async function readPairs(
  paths: string[],
  opts: PreferenceReadOptions = {},
): Promise<PreferencePair[]> {
  const out: PreferencePair[] = [];
  for await (const p of readPreferencePairs(paths, opts)) out.push(p);
  return out;
}

export interface Pair {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}

/** A pair without where it came from, to compare with the expected one. */
export const pairOf = ({ prompt, chosen, rejected }: PreferencePair): Pair => ({ prompt, chosen, rejected });

export interface PreferenceSample {
  format: PreferenceFormat;
  records: Record<string, unknown>[];
  expected: Pair[];
}

export const PREFERENCE_SAMPLES: Record<string, PreferenceSample> = {
  // HuggingFaceH4/ultrafeedback_binarized: a prompt string, messages, chosen and rejected conversations.
  ultrafeedback: {
    format: "conversations-pair",
    records: [
      {
        prompt: "What is 2+2?",
        prompt_id: "a1",
        chosen: [user("What is 2+2?"), bot("4")],
        rejected: [user("What is 2+2?"), bot("5")],
        messages: [user("What is 2+2?"), bot("4")],
        score_chosen: 9,
        score_rejected: 2.5,
      },
      {
        prompt: "Name a colour.",
        prompt_id: "a2",
        chosen: [sys("Be brief."), user("Hi"), bot("Hello"), user("Name a colour."), bot("Blue")],
        rejected: [sys("Be brief."), user("Hi"), bot("Hello"), user("Name a colour."), bot("Dog")],
        messages: [sys("Be brief."), user("Hi"), bot("Hello"), user("Name a colour."), bot("Blue")],
        score_chosen: 8,
        score_rejected: 1,
      },
    ],
    expected: [
      { prompt: [user("What is 2+2?")], chosen: [bot("4")], rejected: [bot("5")] },
      {
        prompt: [sys("Be brief."), user("Hi"), bot("Hello"), user("Name a colour.")],
        chosen: [bot("Blue")],
        rejected: [bot("Dog")],
      },
    ],
  },
  // Intel/orca_dpo_pairs.
  orca: {
    format: "orca-pairs",
    records: [
      {
        system: "You are an AI assistant.",
        question: "Why is the sky blue?",
        chosen: "Rayleigh.",
        rejected: "Paint.",
      },
      { system: "", question: "Say yes.", chosen: "Yes.", rejected: "No." },
    ],
    expected: [
      {
        prompt: [sys("You are an AI assistant."), user("Why is the sky blue?")],
        chosen: [bot("Rayleigh.")],
        rejected: [bot("Paint.")],
      },
      { prompt: [user("Say yes.")], chosen: [bot("Yes.")], rejected: [bot("No.")] },
    ],
  },
  // TRL's standard form, Anthropic-HH conversions.
  strings: {
    format: "preference",
    records: [
      { prompt: "The capital of France is", chosen: " Paris.", rejected: " Lyon." },
      { prompt: "2+3=", chosen: "5", rejected: "6", id: 7 },
    ],
    expected: [
      { prompt: [user("The capital of France is")], chosen: [bot(" Paris.")], rejected: [bot(" Lyon.")] },
      { prompt: [user("2+3=")], chosen: [bot("5")], rejected: [bot("6")] },
    ],
  },
  // TRL's conversational form, as deepen's synthetic math pairs are written; a multi-turn prompt; a
  // list prompt with string responses.
  conversational: {
    format: "preference",
    records: [
      {
        prompt: [user("Ann has 3 apples and buys 4. How many?")],
        chosen: [bot("3 + 4 = 7. The answer is 7.")],
        rejected: [bot("3 + 4 = 8. The answer is 8.")],
        answer: 7,
      },
      {
        prompt: [sys("S"), user("Hi"), bot("Hello"), user("Bye?")],
        chosen: [bot("Bye!")],
        rejected: [bot("No.")],
      },
      { prompt: [user("Q")], chosen: "good", rejected: "bad" },
    ],
    expected: [
      {
        prompt: [user("Ann has 3 apples and buys 4. How many?")],
        chosen: [bot("3 + 4 = 7. The answer is 7.")],
        rejected: [bot("3 + 4 = 8. The answer is 8.")],
      },
      {
        prompt: [sys("S"), user("Hi"), bot("Hello"), user("Bye?")],
        chosen: [bot("Bye!")],
        rejected: [bot("No.")],
      },
      { prompt: [user("Q")], chosen: [bot("good")], rejected: [bot("bad")] },
    ],
  },
};
