import type { Command } from "commander";
import { countOf, formatCount } from "../formatCount.js";
import { inspectModel, type TensorInfo } from "../surgery/inspectModel.js";
import type { Lineage } from "../checkpoint/lineage.js";
import { snakeCaseKeys } from "../report/snakeCaseKeys.js";
import { runCommand } from "./run.js";

const fmtTensor = (t: TensorInfo) => `${t.name}  ${t.dtype} [${t.shape.join(", ")}]`;

function lineageLines(l: Lineage, indent: string): string[] {
  const src = l.sources.map((s) => `${s.name} (${countOf(s.layers, "layer")})`).join(", ");
  const lines = [
    `${indent}${l.method} by deepen ${l.deepen_version} from ${src} -> ${countOf(l.layer_map.length, "layer")}`,
  ];
  if (l.new_layers.length) lines.push(`${indent}  new layers: ${l.new_layers.join(", ")}`);
  for (const p of l.parents) lines.push(...lineageLines(p, indent + "  "));
  return lines;
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("show a model folder's architecture, layers, parameters, dtypes, shards and lineage")
    .argument("<model>", "model folder, models--ORG--NAME cache folder, or cached ORG/NAME")
    .option("--json", "print the report as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: { json?: boolean; verbose?: boolean }) => {
      await runCommand(!!f.verbose, async () => {
        const r = await inspectModel(model);
        if (f.json) {
          process.stdout.write(JSON.stringify(snakeCaseKeys(r), null, 2) + "\n");
          return;
        }
        const dtypes = Object.entries(r.dtypes)
          .map(([d, n]) => `${d} ${formatCount(n)}`)
          .join(", ");
        const lines = [
          `${r.name}  (${r.dir})`,
          `architecture: ${r.architecture ?? "unknown"}${r.family ? ` (family ${r.family})` : " (no deepen table row)"}`,
          `layers: ${r.layers ?? "unknown"}`,
          `parameters: ${formatCount(r.parameters)} (${r.parameters})`,
          `dtypes: ${dtypes}`,
          `shards: ${r.shards.length}`,
          ...r.shards.map((s) => `  ${s.file}  ${(s.bytes / 1e6).toFixed(1)} MB, ${s.tensors} tensors`),
          "tensors:",
          ...r.head.map((t) => `  ${fmtTensor(t)}`),
        ];
        for (const g of r.layerGroups) {
          const which = g.first === g.last ? `layer ${g.first}` : `layers ${g.first}-${g.last}`;
          lines.push(`  ${which}: ${g.tensors.length} tensors each`);
          lines.push(...g.tensors.map((t) => `    ${fmtTensor(t)}`));
        }
        lines.push(...r.tail.map((t) => `  ${fmtTensor(t)}`));
        if (r.lineage) lines.push("lineage:", ...lineageLines(r.lineage, "  "));
        process.stdout.write(lines.join("\n") + "\n");
      });
    });
}
