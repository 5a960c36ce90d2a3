import type { Command } from "commander";
import { snakeCaseKeys } from "../report/snakeCaseKeys.js";
import { exportGguf, GGUF_DTYPES, parseGgufDtype } from "../surgery/exportGguf.js";
import { byteProgress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

interface ExportFlags {
  out?: string;
  dtype?: string;
  force?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerExport(program: Command): void {
  const group = program
    .command("export")
    .description("write a model in another format (gguf: for llama.cpp)");
  group
    .command("gguf")
    .description("convert a Hugging Face model folder into one GGUF v3 file llama.cpp loads")
    .argument(
      "<model>",
      "model folder, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
    )
    .requiredOption("-o, --out <file>", "output .gguf file")
    .option(
      "--dtype <type>",
      `matrix type: ${GGUF_DTYPES.join(", ")} (auto: bf16 stays bf16, else f16)`,
      "auto",
    )
    .option("--force", "replace an existing GGUF file")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: ExportFlags) => {
      await runCommand(!!f.verbose, async () => {
        const dtype = parseGgufDtype(f.dtype ?? "auto");
        let progress: Progress | undefined;
        const r = await exportGguf(model, f.out!, {
          dtype,
          force: !!f.force,
          onProgress: (done, total) => {
            progress ??= byteProgress("writing", total, !!f.json);
            progress.update(done);
          },
        });
        progress?.stop();
        if (f.json) {
          process.stdout.write(JSON.stringify(snakeCaseKeys(r), null, 2) + "\n");
          return;
        }
        const mix = Object.entries(r.dtypes)
          .map(([t, n]) => `${n} ${t}`)
          .join(", ");
        const tok = `${r.tokenizer.model}${r.tokenizer.pre ? `/${r.tokenizer.pre}` : ""}`;
        const lines = [
          `wrote ${r.file}: ${r.architecture}, ${r.tensors} tensors (${mix}), tokenizer ${tok} × ${r.tokenizer.tokens}, ${(r.bytes / 1e6).toFixed(1)} MB`,
          ...r.notes.map((n) => `note: ${n}`),
        ];
        process.stdout.write(lines.join("\n") + "\n");
      });
    });
}
