// A first accuracy measure for instruction-tuned models: exact match on the final answer of math
// word problems (deepen data math's test split, or any messages-form set whose answers end in
// GSM8K's "#### N"). Each problem's prompt is its conversation up to the last assistant message,
// rendered with the chat template and a generation prompt; the model answers greedily until an
// end-of-turn or EOS token; the answer is the number after the first "#### " (GSM8K's strict match).
import { extractAnswer, normaliseAnswer } from "../data/math/answer.js";
import { readInstructionExamples } from "../data/instruct/read.js";
import { UsageError } from "../errors.js";
import { DecoderModel } from "../nn/decoderModel.js";
import { greedyBatches } from "../nn/generate.js";
import type { Device } from "../runtime/session.js";
import { BUILTIN_TEMPLATES, type BuiltinTemplate } from "../tokenizer/builtinTemplates.js";
import { loadTokenizer } from "../tokenizer/loadTokenizer.js";

export interface MathEvalOptions {
  /** Problems scored at most (the first N of the file). */
  limit?: number;
  /** A built-in template for a model without its own (a base model). */
  template?: BuiltinTemplate;
  /** New tokens per answer at most. */
  maxTokens?: number;
  /** Problems answered side by side at most (default MATH_BATCH). */
  batch?: number;
  device?: Device;
  onProgress?: (done: number, total: number) => void;
}

/** Answer tokens at most when not told: level-4 solutions of deepen's math data run ~120 tokens. */
export const MATH_MAX_TOKENS = 256;
/** Rows decoded side by side: past ~16 a small model's step stops being overhead-bound on a CPU. */
export const MATH_BATCH = 16;

export interface LevelScore {
  problems: number;
  correct: number;
  exactMatch: number;
}

export interface MathEvalResult {
  problems: number;
  correct: number;
  exactMatch: number;
  /** By the records' `level` field ("all" when they have none). */
  perLevel: Record<string, LevelScore>;
  /** Answers with no "#### N" at all. */
  noAnswer: number;
}

interface Problem {
  prompt: { role: string; content: string }[];
  gold: string;
  level: string;
}

async function readProblems(file: string, limit: number): Promise<Problem[]> {
  const problems: Problem[] = [];
  for await (const ex of readInstructionExamples([file])) {
    if (problems.length >= limit) break;
    if (ex.kind !== "chat")
      throw new UsageError(`${ex.where}: a math problem must be a conversation, not text`);
    const last = ex.messages.findLastIndex((m) => m.role === "assistant");
    const given = ex.record.answer;
    const gold =
      typeof given === "string" || typeof given === "number"
        ? normaliseAnswer(String(given))
        : extractAnswer(ex.messages[last]!.content);
    if (gold === undefined)
      throw new UsageError(
        `${ex.where}: no gold answer (an "answer" field, or "#### N" ending the assistant's reply)`,
      );
    const level = ex.record.level;
    problems.push({
      prompt: ex.messages.slice(0, last),
      gold,
      level: typeof level === "number" || typeof level === "string" ? String(level) : "all",
    });
  }
  if (problems.length === 0) throw new UsageError(`${file}: no problems to evaluate`);
  return problems;
}

export async function mathAccuracy(
  model: string,
  file: string,
  o: MathEvalOptions = {},
): Promise<MathEvalResult> {
  const tokenizer = await loadTokenizer(model, { template: o.template });
  if (!tokenizer.hasChatTemplate)
    throw new UsageError(
      `${model} has no chat template to pose the problems with: give --template NAME (${Object.keys(BUILTIN_TEMPLATES).join(", ")})`,
    );
  const problems = await readProblems(file, o.limit ?? Infinity);
  const prompts = problems.map((p) =>
    tokenizer.encode(tokenizer.applyChatTemplate(p.prompt, { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    }),
  );
  const decoder = await DecoderModel.load(model, { device: o.device });
  const result: MathEvalResult = { problems: 0, correct: 0, exactMatch: 0, perLevel: {}, noAnswer: 0 };
  try {
    const limit = decoder.decoder.config.max_position_embeddings ?? Infinity;
    prompts.forEach((p, i) => {
      if (p.length >= limit)
        throw new UsageError(`${file}: problem ${i + 1}'s prompt fills the model's ${limit} positions`);
    });
    // Answered side by side, MATH_BATCH at a time in order of prompt length.
    const outs = await greedyBatches(decoder, prompts, {
      maxTokens: o.maxTokens ?? MATH_MAX_TOKENS,
      stopIds: tokenizer.eosIds,
      batch: o.batch ?? MATH_BATCH,
      onProgress: (done) => o.onProgress?.(done, problems.length),
    });
    problems.forEach((p, i) => {
      const answer = extractAnswer(tokenizer.decode(outs[i]!, { skipSpecialTokens: true }));
      const level = (result.perLevel[p.level] ??= { problems: 0, correct: 0, exactMatch: 0 });
      level.problems++;
      result.problems++;
      if (answer === p.gold) {
        level.correct++;
        result.correct++;
      }
      if (answer === undefined) result.noAnswer++;
    });
  } finally {
    await decoder.release();
  }
  result.exactMatch = result.correct / result.problems;
  for (const l of Object.values(result.perLevel)) l.exactMatch = l.correct / l.problems;
  return result;
}
