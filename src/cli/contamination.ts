import type { Command } from "commander";
import {
  contamination,
  DEFAULT_K,
  DEFAULT_ROWS,
  DEFAULT_TOP,
  type ContaminationResult,
} from "../eval/contamination/contamination.js";
import type { Distribution } from "../eval/contamination/distribution.js";
import { countOf } from "../formatCount.js";
import { snakeCaseKeys } from "../report/snakeCaseKeys.js";
import { parseDevice } from "./deviceOption.js";
import { parseCount, parseNumber } from "./parseOptions.js";
import { progress, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

interface Flags {
  ref: string;
  data: string;
  k: string;
  field?: string;
  labelField?: string;
  limit?: string;
  top: string;
  maxTokens?: string;
  batch: string;
  out?: string;
  force?: boolean;
  device: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerContamination(program: Command): void {
  program
    .command("contamination")
    .description(
      "has the model seen these texts? Min-K% Prob of each text under the model and under a reference that did not see them",
    )
    .argument(
      "<model>",
      "model folder, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
    )
    .requiredOption(
      "--ref <model>",
      "a reference model that did not see the data, with the model's tokenizer",
    )
    .requiredOption(
      "--data <file>",
      ".jsonl, .json, .parquet (or .gz of the JSON ones) records, or any other file as plain text, one example per line",
    )
    .option(
      "--k <percent>",
      "Min-K%: the percentage of each text's least likely tokens averaged",
      String(DEFAULT_K),
    )
    .option(
      "--field <name>",
      'the record field holding the text (a.b reaches into objects); default "text" if the first record has it, ' +
        'else every string field of the first record joined with "\\n" in their order ({question, answer}: question, newline, answer)',
    )
    .option(
      "--label-field <name>",
      "a membership label per record, 1/0 or true/false (1 = seen in training): adds the ROC AUC of each score",
    )
    .option("--limit <n>", "the first n examples only")
    .option("--top <n>", "examples listed by largest difference (model − reference)", String(DEFAULT_TOP))
    .option(
      "--max-tokens <n>",
      "tokens per example at most, the rest cut (default: the positions both models have, at most 4096)",
    )
    .option("--batch <b>", "examples per forward run at most", String(DEFAULT_ROWS))
    .option("-o, --out <file>", "write every example's scores as JSON Lines")
    .option("--force", "replace an existing --out file")
    .option("--device <name>", "cpu, cuda or webgpu", "cpu")
    .option(
      "--json",
      "print the result as one JSON object (settings, the three distributions, AUCs, top examples)",
    )
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: Flags) => {
      await runCommand(!!f.verbose, async () => {
        const bars: Partial<Record<"model" | "reference", Progress>> = {};
        const r = await contamination(model, {
          ref: f.ref,
          data: f.data,
          k: parseNumber(f.k, "--k"),
          field: f.field,
          labelField: f.labelField,
          limit: f.limit === undefined ? undefined : parseCount(f.limit, "--limit"),
          top: parseCount(f.top, "--top"),
          maxTokens: f.maxTokens === undefined ? undefined : parseCount(f.maxTokens, "--max-tokens"),
          rows: parseCount(f.batch, "--batch"),
          out: f.out,
          force: !!f.force,
          device: parseDevice(f.device),
          onProgress: (side, done, total) => {
            const bar = (bars[side] ??= progress(`scoring under the ${side}`, total, {
              unit: "examples",
              quiet: !!f.json,
            }));
            bar.update(done);
            if (done === total) bar.stop();
          },
        });
        const s = r.settings;
        if (s.cut > 0)
          process.stderr.write(
            `${countOf(s.cut, "example")} over ${s.maxTokens} tokens cut to ${s.maxTokens} (--max-tokens): the rest not scored\n`,
          );
        if (s.skipped > 0)
          process.stderr.write(`${countOf(s.skipped, "example")} of fewer than 2 tokens passed over\n`);
        if (f.json) {
          // Every example's scores are for --out; the printed object stays a summary.
          process.stdout.write(JSON.stringify(snakeCaseKeys({ ...r, examples: undefined })) + "\n");
        } else process.stdout.write(report(r));
      });
    });
}

const num = (x: number) => x.toFixed(3);

function distributionRows(r: ContaminationResult): string[] {
  const cols = ["mean", "q1", "median", "q3"] as const;
  const rows: [string, Distribution][] = [
    ["model", r.model],
    ["reference", r.reference],
    ["difference", r.difference],
  ];
  const cells = rows.map(([name, d]) => [name, ...cols.map((c) => num(d[c]))]);
  const header = ["", ...cols];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    "  " + c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ");
  return [line(header), ...cells.map(line)];
}

/** The terminal report: what was scored, the distributions, the AUCs, the top examples. */
function report(r: ContaminationResult): string {
  const s = r.settings;
  const what = s.fields.length === 0 ? "lines" : `field ${s.fields.join(' + "\\n" + ')}`;
  const out = [
    `${countOf(s.examples, "example")} of ${s.data} (${what}); Min-${s.k}% Prob: the mean log-probability (nats) of each text's ${s.k} % least likely tokens`,
    "",
    ...distributionRows(r),
  ];
  if (r.auc) {
    const a = r.auc;
    out.push(
      "",
      `ROC AUC for telling members from non-members (${a.members} labelled 1, ${a.nonMembers} labelled 0; 0.5 = no better than chance):`,
      `  model       ${num(a.model)}`,
      `  reference   ${num(a.reference)}`,
      `  difference  ${num(a.difference)}`,
    );
  } else
    out.push(
      "",
      "no labels (--label-field): the scores rank texts, they set no threshold that proves contamination",
    );
  if (r.top.length > 0) {
    const label = r.auc !== undefined;
    const cells = r.top.map((e) => [
      e.where,
      num(e.difference),
      num(e.model),
      num(e.reference),
      ...(label ? [String(e.label)] : []),
      e.preview.slice(0, 60),
    ]);
    const header = ["where", "difference", "model", "reference", ...(label ? ["label"] : []), "text"];
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const last = header.length - 1;
    const line = (c: string[]) =>
      "  " +
      c
        .map((v, i) =>
          i === 0 || i === last ? v.padEnd(i === last ? 0 : widths[i]!) : v.padStart(widths[i]!),
        )
        .join("  ");
    out.push(
      "",
      `the ${countOf(r.top.length, "example")} the model finds most likely relative to the reference:`,
      line(header),
      ...cells.map(line),
    );
  }
  return out.join("\n") + "\n";
}
