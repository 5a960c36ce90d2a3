#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerEval } from "./eval.js";
import { registerExample } from "./example.js";
import { registerGenerate } from "./generate.js";
import { registerMerge } from "./merge.js";
import { registerTrain } from "./train.js";
import { registerInspect } from "./inspect.js";
import { registerUpscale } from "./upscale.js";

const program = new Command()
  .name("deepen")
  .description("grow language models by depth up-scaling, then heal, tune, merge and evaluate them")
  .version(VERSION)
  .showHelpAfterError("(run deepen --help for usage)");

registerUpscale(program);
registerInspect(program);
registerEval(program);
registerGenerate(program);
registerTrain(program);
registerMerge(program);
registerExample(program);

await program.parseAsync(process.argv);
