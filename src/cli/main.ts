#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerContamination } from "./contamination.js";
import { registerData } from "./data.js";
import { downloadBar, registerDownload } from "./download.js";
import { setDownloadReporter } from "../checkpoint/hub/downloadProgress.js";
import { registerDemo } from "./demo.js";
import { registerEval } from "./eval.js";
import { registerExport } from "./export.js";
import { registerGenerate } from "./generate.js";
import { registerInit } from "./init.js";
import { registerLora } from "./lora.js";
import { registerMerge } from "./merge.js";
import { registerTokenizer } from "./tokenizer.js";
import { registerTrain } from "./train.js";
import { registerInspect } from "./inspect.js";
import { registerSeam } from "./seam.js";
import { registerUpscale } from "./upscale.js";

const program = new Command()
  .name("deepen")
  .description("grow language models by depth up-scaling, then heal, tune, merge and evaluate them")
  .version(VERSION)
  .option("--offline", "use only the local Hugging Face cache: never contact the Hub (sets HF_HUB_OFFLINE=1)")
  // Parse errors read like every other deepen error: one line, exit status 2 (bad usage).
  .configureOutput({
    outputError: (str, write) =>
      write(
        `deepen: ${str
          .replace(/^error: /, "")
          .replace(/\s*\n\s*/g, " ")
          .trim()} (see --help)\n`,
      ),
  })
  .exitOverride((err) => {
    // "commander.help" is help shown because a command group was called without a subcommand: bad usage.
    const ok = ["commander.helpDisplayed", "commander.version"].includes(err.code);
    process.exit(ok ? 0 : 2);
  });

// Before any command runs: --offline as the environment variable every Hub lookup reads, and
// progress for models fetched on the way (a command opening ORG/NAME may download it), silent under --json.
program.hook("preAction", (_program, action) => {
  if (program.opts<{ offline?: boolean }>().offline) process.env.HF_HUB_OFFLINE = "1";
  setDownloadReporter(downloadBar(!!action.opts<{ json?: boolean }>().json));
});

registerUpscale(program);
registerInspect(program);
registerInit(program);
registerEval(program);
registerSeam(program);
registerContamination(program);
registerGenerate(program);
registerTrain(program);
registerTokenizer(program);
registerMerge(program);
registerLora(program);
registerDemo(program);
registerData(program);
registerExport(program);
registerDownload(program);

await program.parseAsync(process.argv);
