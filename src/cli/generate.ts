import type { Command } from "commander";
import { DecoderModel } from "../nn/decoderModel.js";
import { checkGenerateOptions, checkPrompt, generate } from "../nn/generate.js";
import { loadTokenizer } from "../tokenizer/loadTokenizer.js";
import { parseDevice } from "./deviceOption.js";
import { parseCount, parseNumber } from "./parseOptions.js";
import { runCommand } from "./run.js";

interface Flags {
  maxTokens: string;
  temperature: string;
  topP: string;
  seed: string;
  chat?: boolean;
  device: string;
  verbose?: boolean;
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("continue a prompt (or answer it with --chat), streaming the text")
    .argument(
      "<model>",
      "model folder, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
    )
    .argument("<prompt>", "the prompt text")
    .option("--max-tokens <n>", "new tokens at most", "128")
    .option("--temperature <t>", "0 is greedy", "0")
    .option("--top-p <p>", "nucleus sampling mass", "1")
    .option("--seed <s>", "sampling seed", "0")
    .option("--chat", "wrap the prompt in the model's chat template as a user message")
    .option("--device <name>", "cpu, cuda or webgpu", "cpu")
    .option("--verbose", "print stack traces on errors")
    .action(async (modelDir: string, prompt: string, f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        const opts = {
          maxTokens: parseCount(f.maxTokens, "--max-tokens"),
          temperature: parseNumber(f.temperature, "--temperature"),
          topP: parseNumber(f.topP, "--top-p"),
          seed: parseCount(f.seed, "--seed"),
        };
        checkGenerateOptions(opts);
        const device = parseDevice(f.device);
        const tokenizer = await loadTokenizer(modelDir);
        const ids = f.chat
          ? tokenizer.encode(
              tokenizer.applyChatTemplate([{ role: "user", content: prompt }], { addGenerationPrompt: true }),
              {
                addSpecialTokens: false,
              },
            )
          : tokenizer.encode(prompt);
        const model = await DecoderModel.load(modelDir, { device });
        const out: number[] = [];
        let printed = 0;
        checkPrompt(model, ids, opts.maxTokens); // before the prompt is echoed: an error prints nothing else
        if (!f.chat) process.stdout.write(prompt);
        await generate(model, ids, {
          ...opts,
          stopIds: tokenizer.eosIds,
          onToken: (id) => {
            if (tokenizer.eosIds.includes(id)) return;
            out.push(id);
            process.stdout.write(tokenizer.decodeIncrement(out, printed, { skipSpecialTokens: true }));
            printed = out.length;
          },
        });
        process.stdout.write(
          tokenizer.decodeIncrement(out, printed, { skipSpecialTokens: true, final: true }) + "\n",
        );
        await model.release();
      });
    });
}
