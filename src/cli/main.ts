#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerContamination } from "./contamination.js";
import { registerData } from "./data.js";
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

await program.parseAsync(process.argv);
