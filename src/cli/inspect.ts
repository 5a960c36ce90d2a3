import type { Command } from "commander";
import { countOf, formatCount } from "../formatCount.js";
import { inspectModel, type ModelReport, type TensorInfo } from "../surgery/inspectModel.js";
import { type GgufReport, inspectGguf } from "../surgery/inspectGguf.js";
import { looksLikeGguf } from "../checkpoint/gguf/readGguf.js";
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

type TensorParts = Pick<ModelReport, "head" | "layerGroups" | "tail">;

/** The tensors before the layers, each run of alike layers once, then the tensors after. */
function tensorLines(r: TensorParts): string[] {
  const lines = ["tensors:", ...r.head.map((t) => `  ${fmtTensor(t)}`)];
  for (const g of r.layerGroups) {
    const which = g.first === g.last ? `layer ${g.first}` : `layers ${g.first}-${g.last}`;
    lines.push(`  ${which}: ${g.tensors.length} tensors each`);
    lines.push(...g.tensors.map((t) => `    ${fmtTensor(t)}`));
  }
  lines.push(...r.tail.map((t) => `  ${fmtTensor(t)}`));
  return lines;
}

const perLayer = (v: number | number[] | null) =>
  v === null ? "?" : Array.isArray(v) ? `per layer [${v.join(", ")}]` : String(v);

/** A GGUF file's report: the model, its quantization mix, tokenizer, metadata keys and tensors. */
function ggufLines(g: GgufReport): string[] {
  const mix = Object.entries(g.types)
    .sort(([, a], [, b]) => b.bytes - a.bytes)
    .map(
      ([t, u]) =>
        `  ${t.padEnd(8)} ${countOf(u.tensors, "tensor").padEnd(12)} ${formatCount(u.parameters).padStart(8)} parameters  ${(u.bytes / 1e6).toFixed(1)} MB`,
    );
  const tok = g.tokenizer;
  const lines = [
    `${g.name}  (${g.file}, GGUF v${g.version}, ${(g.bytes / 1e6).toFixed(1)} MB)`,
    `architecture: ${g.architecture ?? "unknown"}`,
    `layers: ${g.layers ?? "unknown"}${g.layoutProblem ? ` (${g.layoutProblem})` : ""}`,
    `parameters: ${formatCount(g.parameters)} (${g.parameters})`,
    `file type: ${g.fileType ?? "not recorded"}`,
    "tensor types:",
    ...mix,
    `context length: ${g.contextLength ?? "?"}, embedding length: ${g.embeddingLength ?? "?"}, ` +
      `feed-forward: ${perLayer(g.feedForwardLength)}`,
    `heads: ${perLayer(g.heads)}, KV heads: ${perLayer(g.kvHeads)}`,
    tok
      ? `tokenizer: ${tok.model ?? "?"} (pre ${tok.pre ?? "default"}), ${tok.vocabSize} tokens, bos ${tok.bos ?? "-"}, eos ${tok.eos ?? "-"}`
      : "tokenizer: none",
    `metadata: ${countOf(g.metadata.length, "key")}`,
    ...g.metadata.map((m) => `  ${m.key} = ${m.value}`),
    ...tensorLines(g),
  ];
  return lines;
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description(
      "show a model folder's or GGUF file's architecture, layers, parameters, dtypes (quantization mix), shards and lineage",
    )
    .argument(
      "<model>",
      "model folder, GGUF file, models--ORG--NAME cache folder, or Hub id ORG/NAME[@REV] (downloaded unless cached)",
    )
    .option("--json", "print the report as JSON")
    .option("--verbose", "print stack traces on errors")
    .action(async (model: string, f: { json?: boolean; verbose?: boolean }) => {
      await runCommand(!!f.verbose, async () => {
        if (await looksLikeGguf(model)) {
          const g = await inspectGguf(model);
          process.stdout.write(
            (f.json ? JSON.stringify(snakeCaseKeys(g), null, 2) : ggufLines(g).join("\n")) + "\n",
          );
          return;
        }
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
        ];
        lines.push(...tensorLines(r));
        if (r.lineage) lines.push("lineage:", ...lineageLines(r.lineage, "  "));
        process.stdout.write(lines.join("\n") + "\n");
      });
    });
}
