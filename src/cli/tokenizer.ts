import type { Command } from "commander";
import { countOf } from "../formatCount.js";
import {
  BOS_TOKEN,
  DEFAULT_MIN_FREQUENCY,
  DEFAULT_VOCAB_SIZE,
  EOS_TOKEN,
  MIN_VOCAB_SIZE,
  PAD_TOKEN,
  SPECIAL_TOKENS,
  SPECIAL_TOKEN_IDS,
  trainTokenizer,
} from "../tokenizer/trainBpe.js";
import { DEFAULT_MAX_LENGTH, TOKENIZER_FILES } from "../tokenizer/writeTokenizerFiles.js";
import { EXT_HELP, parseCount, parseExtensions } from "./parseOptions.js";
import { skippedNote } from "../data/corpus.js";
import { byteProgress, progress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

interface TrainFlags {
  vocab: string;
  out: string;
  minFrequency: string;
  maxLength: string;
  ext?: string;
  textField: string;
  force?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerTokenizer(program: Command): void {
  const tokenizer = program.command("tokenizer").description("train tokenizers");
  tokenizer
    .command("train")
    .description("train a byte-level BPE tokenizer (Hugging Face tokenizer.json) on text")
    .argument("<paths...>", "text files, folders (read recursively), JSONL, or .gz of either")
    .requiredOption(
      "-o, --out <dir>",
      "output folder: tokenizer.json, tokenizer_config.json, special_tokens_map.json (required)",
    )
    .option(
      "--vocab <n>",
      `total vocabulary size: ${BOS_TOKEN} ${EOS_TOKEN} ${PAD_TOKEN}, the 256 bytes, then merges`,
      String(DEFAULT_VOCAB_SIZE),
    )
    .option("--min-frequency <n>", "merge no pair seen fewer times than this", String(DEFAULT_MIN_FREQUENCY))
    .option("--max-length <n>", "model_max_length in tokenizer_config.json", String(DEFAULT_MAX_LENGTH))
    .option("--ext <list>", EXT_HELP)
    .option("--text-field <name>", "JSONL field holding the text", "text")
    .option("--force", "replace an existing output folder")
    .option("--json", "print a summary as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (paths: string[], f: TrainFlags) => {
      await runCommand(!!f.verbose, async () => {
        const vocabSize = parseCount(f.vocab, "--vocab");
        const minFrequency = parseCount(f.minFrequency, "--min-frequency");
        const maxLength = parseCount(f.maxLength, "--max-length");
        const extensions = parseExtensions(f.ext);
        const skipped: string[] = [];
        let reading: Progress | undefined;
        let merging: Progress | undefined;
        const quiet = !!f.json;
        const r = await trainTokenizer({
          inputs: paths,
          out: f.out,
          vocabSize,
          minFrequency,
          maxLength,
          extensions,
          onSkip: (p) => skipped.push(p),
          textField: f.textField,
          force: f.force,
          onReadStart: (total) => (reading = byteProgress("reading", total, quiet)),
          onRead: (bytes) => reading?.update(bytes),
          onProgress: (done, target) => {
            if (!merging) {
              reading?.stop();
              merging = progress("merging", target, { unit: "merges", quiet });
            }
            merging.update(done);
          },
        });
        merging?.stop();
        if (skipped.length > 0 && !f.json) process.stderr.write(skippedNote(skipped, extensions) + "\n");
        const s = r.stats;
        const short = s.vocabSize < s.requestedVocabSize;
        const note = short
          ? `only ${s.merges} merges had a pair seen at least --min-frequency ${s.minFrequency} times: the vocabulary has ${s.vocabSize} tokens, not the ${s.requestedVocabSize} asked for`
          : undefined;
        if (f.json) {
          const out = {
            output: f.out,
            files: [...TOKENIZER_FILES],
            vocab_size: s.vocabSize,
            requested_vocab_size: s.requestedVocabSize,
            merges: s.merges,
            special_tokens: {
              bos: { token: BOS_TOKEN, id: SPECIAL_TOKEN_IDS.bos },
              eos: { token: EOS_TOKEN, id: SPECIAL_TOKEN_IDS.eos },
              pad: { token: PAD_TOKEN, id: SPECIAL_TOKEN_IDS.pad },
            },
            min_frequency: s.minFrequency,
            last_merge_count: s.lastMergeCount,
            input_files: s.files,
            documents: s.documents,
            bytes: s.bytes,
            words: s.totalWords,
            distinct_words: s.words,
            read_seconds: s.readSeconds,
            learn_seconds: s.learnSeconds,
            warnings: [
              ...(note ? [note] : []),
              ...(skipped.length > 0 ? [skippedNote(skipped, extensions)] : []),
            ],
          };
          process.stdout.write(JSON.stringify(out, null, 2) + "\n");
          return;
        }
        const lines = [
          `read ${countOf(s.files, "file")}, ${countOf(s.documents, "document")}, ${(s.bytes / 1e6).toFixed(1)} MB, ` +
            `${s.totalWords} words (${s.words} distinct of 2+ bytes) in ${s.readSeconds.toFixed(1)} s`,
          `learned ${s.merges} merges in ${s.learnSeconds.toFixed(1)} s ` +
            `(the last seen ${s.lastMergeCount} times): vocabulary ${s.vocabSize} = ${SPECIAL_TOKENS.length} special + 256 bytes + ${s.vocabSize - MIN_VOCAB_SIZE} merged`,
          `special tokens: ${BOS_TOKEN} ${SPECIAL_TOKEN_IDS.bos} (added before each text), ${EOS_TOKEN} ${SPECIAL_TOKEN_IDS.eos}, ${PAD_TOKEN} ${SPECIAL_TOKEN_IDS.pad}`,
          ...(note ? [`note: ${note}`] : []),
          `wrote ${f.out} (${TOKENIZER_FILES.join(", ")})`,
        ];
        process.stdout.write(lines.join("\n") + "\n");
      });
    });
}
