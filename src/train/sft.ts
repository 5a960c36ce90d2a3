// `deepen train sft`: supervised fine-tuning (step 3 of the SOLAR recipe) as an objective of the run
// scaffold. Its data is instruction examples rendered with a chat template; its loss is next-token
// cross-entropy on the assistant's tokens only, divided once per optimizer step by their count; it
// evaluates held-out examples with the same mask. Before training it may give the model a template
// and the chat tokens the template writes (adaptModel).
import { countOf } from "../formatCount.js";
import type { InstructionFormat } from "../data/instruct/formats.js";
import { UsageError } from "../errors.js";
import type { DecoderModel } from "../nn/decoderModel.js";
import { resolveDecoder } from "../arch/decoderConfig.js";
import { growEmbeddings } from "../nn/growEmbeddings.js";
import { builtinTemplate } from "../tokenizer/builtinTemplates.js";
import { stageChatTokenizer } from "../tokenizer/stageChatTokenizer.js";
import { RUN_DEFAULTS, SFT_DEFAULTS } from "./defaults.js";
import { responseNll } from "./sft/responseNll.js";
import { lengthBuckets, SftBatcher } from "./sft/sftBatcher.js";
import { readSftDataset, type SftDataset } from "./sft/sftData.js";
import { sftLoss, sftStepBatches } from "./sft/sftLoss.js";
import {
  type AdaptedModel,
  checkDataOptions,
  type Objective,
  type ObjectiveContext,
  type ObjectiveSpec,
} from "./objective.js";
import { type ChatRunOptions, splitHeldOut, templateHint } from "./chatRun.js";
import { runTraining, type RunResult } from "./run.js";

export interface SftOptions extends ChatRunOptions {
  /** The record shape of every file (default: detected per file). */
  format?: InstructionFormat;
  addChatTokens?: boolean;
  pack?: boolean;
  lastTurnOnly?: boolean;
  trainOnPrompt?: boolean;
}

export function sft(o: SftOptions): Promise<RunResult> {
  return runTraining({ ...o, lr: o.lr ?? SFT_DEFAULTS.lr }, sftObjective(o));
}

/** Supervised fine-tuning as an objective: checks its options now, adapts the model and reads the data later. */
export function sftObjective(o: SftOptions): ObjectiveSpec {
  const seqLen = o.seqLen ?? SFT_DEFAULTS.seqLen;
  const inputs = checkDataOptions(o);
  if (o.lastTurnOnly && o.trainOnPrompt)
    throw new UsageError("--last-turn-only and --train-on-prompt contradict each other: give one");
  const format = o.template === undefined ? undefined : builtinTemplate(o.template);
  return {
    method: "sft",
    title: "Supervised fine-tuning",
    inputs,
    seqLen,
    rows: (batch) => batch,
    adaptModel: async (base, tokenizer, note): Promise<AdaptedModel | undefined> => {
      if (!format) {
        if (o.addChatTokens)
          note(
            "--add-chat-tokens has nothing to add without --template: the model's own chat template is used",
          );
        return undefined;
      }
      const staged = await stageChatTokenizer(tokenizer.dir, tokenizer, {
        format,
        addTokens: !!o.addChatTokens,
      });
      try {
        let model = base;
        if (staged.added.length > 0) {
          const oldRows = base.folder.config.vocab_size as number;
          const params = growEmbeddings(base.decoder, base.params, staged.baseLength, staged.added.length);
          const rows = params.get(base.decoder.family.decoderTensors.embed)!.shape[0]!;
          const config = { ...base.folder.config, vocab_size: rows };
          model = {
            folder: { ...base.folder, config },
            decoder: resolveDecoder(config, base.decoder.source),
            params,
          };
          note(
            `added ${countOf(staged.added.length, "chat token")} (${staged.added.map((a) => `${a.token} = ${a.id}`).join(", ")}); ` +
              `embedding rows ${oldRows} -> ${rows}, new rows set to the mean of the ${staged.baseLength} existing`,
          );
        }
        return {
          model,
          tokenizer: staged.tokenizer,
          filesFrom: staged.dir,
          fingerprint: {
            template: format?.name ?? "own",
            chat_tokens: staged.added.map((a) => a.token).join(" "),
          },
          close: staged.close,
        };
      } catch (e) {
        await staged.close();
        throw e;
      }
    },
    prepare: (ctx) => prepareSft(o, seqLen, ctx),
  };
}

async function prepareSft(o: SftOptions, seqLen: number, ctx: ObjectiveContext): Promise<Objective> {
  const { batch, microBatches, seed, tokenizer } = ctx;
  if (tokenizer.eosIds.length === 0)
    throw new UsageError(
      `${tokenizer.dir}: the tokenizer has no EOS token (eos_token in tokenizer_config.json), so a reply has no end to learn`,
    );
  const readOpts = {
    seqLen,
    format: o.format,
    skipBad: o.skipBad,
    truncate: o.truncate,
    extensions: o.extensions,
    lastTurnOnly: o.lastTurnOnly,
    trainOnPrompt: o.trainOnPrompt,
    templateHint: templateHint(),
    note: ctx.note,
  };
  const data = await readSftDataset(o.data, tokenizer, readOpts);
  if (data.examples.length > 0) ctx.note(describeDataset(data, seqLen, o.data));
  const { train, held } = await splitHeldOut(
    data.examples,
    o,
    seed,
    "example",
    async (paths) => {
      const evalSet = await readSftDataset(paths, tokenizer, readOpts);
      if (evalSet.examples.length > 0) ctx.note(`held out: ${describeDataset(evalSet, seqLen, paths)}`);
      return evalSet.examples;
    },
    ctx.note,
  );
  if (train.length === 0)
    throw new UsageError(
      `${o.data.join(", ")}: no example left to train on (${data.read} read, ${data.dropped} longer than --seq-len ${seqLen} or without a trained token${data.skipped ? `, ${data.skipped} bad` : ""})`,
    );
  const padId = tokenizer.padId ?? tokenizer.eosIds[0]!;
  const batcher = new SftBatcher(train, seed, seqLen, batch, !!o.pack, padId);
  const lengths = o.pack ? undefined : lengthBuckets(seqLen);

  const evaluate = async (model: DecoderModel) => {
    const n = Math.min(held.length, (o.evalBatches ?? RUN_DEFAULTS.evalBatches) * batch);
    const { sum, count } = await responseNll(model, held.slice(0, n), { rows: batch, seqLen, padId });
    const loss = sum.reduce((a, b) => a + b, 0) / count.reduce((a, b) => a + b, 0);
    return { loss, perplexity: Math.exp(loss) };
  };

  const template = o.template ?? "the model's own";
  return {
    loss: sftLoss,
    ...(o.pack && { decoder: { perRow: true } }),
    lengths,
    fingerprint: {
      seq_len: seqLen,
      data: data.hash,
      pack: o.pack ? 1 : 0,
      eval: held.length,
    },
    settings: {
      data: o.data,
      seq_len: seqLen,
      template,
      pack: !!o.pack,
      add_chat_tokens: !!o.addChatTokens,
      last_turn_only: !!o.lastTurnOnly,
      train_on_prompt: !!o.trainOnPrompt,
      truncate: !!o.truncate,
      examples: train.length,
      held_out: held.length,
      dropped_too_long: data.dropped,
      truncated: data.truncated,
      skipped_bad: data.skipped,
    },
    nextStep: async () => sftStepBatches(Array.from({ length: microBatches }, () => batcher.next())),
    position: () => batcher.position(),
    restore: (p) => batcher.restore(p),
    evaluate: held.length > 0 ? evaluate : undefined,
    describe: () =>
      `Sequence length ${seqLen}${o.pack ? ", examples packed" : ""}; chat template ${template}; loss on ${o.trainOnPrompt ? "every token" : o.lastTurnOnly ? "the last assistant turn" : "assistant tokens"}`,
    close: async () => {},
  };
}

function describeDataset(d: SftDataset, seqLen: number, paths: readonly string[]): string {
  const shapes = Object.entries(d.formats)
    .map(([f, n]) => `${f} (${countOf(n, "file")})`)
    .join(", ");
  const parts = [
    `${countOf(d.examples.length, "example")} from ${paths.join(", ")}: ${shapes || "no records"}`,
  ];
  parts.push(`${countOf(d.targets, "loss-bearing token")}`);
  if (d.dropped)
    parts.push(
      `${d.dropped} dropped (longer than --seq-len ${seqLen} or nothing to train; --truncate keeps their start)`,
    );
  if (d.truncated) parts.push(`${d.truncated} cut to ${seqLen} tokens`);
  if (d.skipped) parts.push(`${d.skipped} bad records skipped`);
  return parts.join("; ");
}
