// `deepen export gguf`: a Hugging Face model folder of a family the engine runs, as one GGUF v3 file
// llama.cpp loads. Tensors stream one band of rows at a time; the file appears only when complete;
// the input is only read.
import { GGUFValueType } from "@huggingface/gguf";
import { GGUF_ARCHS, GGUF_GLOBAL_NAMES, ROPE_FREQS_NAME } from "../arch/ggufArch.js";
import { findFamily } from "../arch/findFamily.js";
import { checkLayersPresent } from "../arch/layerLayout.js";
import { checkTensorSet } from "../arch/tensorSet.js";
import { withAtomicFile } from "../checkpoint/atomicOutput.js";
import { looksLikeGguf } from "../checkpoint/gguf/readGguf.js";
import { ggufString, ggufU32, type GgufMetadata } from "../checkpoint/gguf/ggufMetadata.js";
import { writeGguf, type GgufOutputTensor } from "../checkpoint/gguf/writeGguf.js";
import { GGUF_LINEAGE_KEY, readLineage } from "../checkpoint/lineage.js";
import { CONFIG_FILE, openModelFolder } from "../checkpoint/modelFolder.js";
import { join } from "node:path";
import { ArchitectureError, GgufExportError, UsageError } from "../errors.js";
import { resolveDecoder } from "../arch/decoderConfig.js";
import { ggufVocab } from "../tokenizer/ggufVocab.js";
import { checkForLlamaCpp, hyperparams, llama3RopeFactors } from "./ggufHyperparams.js";
import { ggufF32Tensor, ggufTensorFrom, type GgufOutType } from "./ggufTensors.js";

export type GgufDtypeOption = "auto" | "f32" | "f16" | "bf16" | "q8_0";
export const GGUF_DTYPES: readonly GgufDtypeOption[] = ["auto", "f32", "f16", "bf16", "q8_0"];

/** llama_ftype of a file whose matrices are all one type (general.file_type). */
const FILE_TYPE: Record<GgufOutType, number> = { F32: 0, F16: 1, Q8_0: 7, BF16: 32 };
/** ggml's quantization format version, written with quantized tensors. */
const QUANTIZATION_VERSION = 2;

export interface ExportGgufOptions {
  dtype?: GgufDtypeOption;
  force?: boolean;
  onProgress?: (bytes: number, total: number) => void;
}

export interface ExportGgufSummary {
  file: string;
  bytes: number;
  tensors: number;
  /** llama.cpp architecture written. */
  architecture: string;
  /** Tensors per ggml type. */
  dtypes: Record<string, number>;
  tokenizer: { model: string; pre?: string; tokens: number };
  /** What the export changed or what llama.cpp does differently past some length. */
  notes: string[];
}

export function parseGgufDtype(s: string): GgufDtypeOption {
  const d = s.toLowerCase() as GgufDtypeOption;
  if (!GGUF_DTYPES.includes(d))
    throw new UsageError(`--dtype ${s}: expected one of ${GGUF_DTYPES.join(", ")}`);
  return d;
}

/** The type of 2-D tensors: auto follows the source as llama.cpp's converter does (bf16 stays bf16, f16 and f32 become f16). */
function matrixType(option: GgufDtypeOption, source: string): GgufOutType {
  if (option === "auto") return source === "BF16" ? "BF16" : "F16";
  return option.toUpperCase() as GgufOutType;
}

export async function exportGguf(
  model: string,
  out: string,
  opts: ExportGgufOptions = {},
): Promise<ExportGgufSummary> {
  const folder = await openModelFolder(model);
  const configFile = join(folder.dir, CONFIG_FILE);
  const family = findFamily(folder.config, configFile);
  const arch = GGUF_ARCHS[family.family];
  if (!arch)
    throw new ArchitectureError(
      `${configFile}: ${family.architectures[0]} cannot be exported to GGUF yet (deepen exports ${Object.keys(GGUF_ARCHS).join(", ")})`,
    );
  const d = resolveDecoder(folder.config, configFile);
  const notes = checkForLlamaCpp(d, arch);
  // The tensors must be the model the config describes: a layer count or a shape that disagrees
  // would export a file llama.cpp refuses to load, or worse, reorder q/k rows by the wrong head size.
  const n = d.config.num_hidden_layers;
  checkLayersPresent(folder.tensors.values(), n, family, folder.dir);
  checkTensorSet(folder, family, n);
  const embed = folder.tensors.get("model.embed_tokens.weight");
  if (!embed) throw new GgufExportError(`${folder.dir}: no model.embed_tokens.weight tensor`);
  const rows = embed.shape[0]!;
  const vocab = await ggufVocab(folder.dir, rows, {
    bos: typeof d.config.bos_token_id === "number" ? d.config.bos_token_id : undefined,
    eos: typeof d.config.eos_token_id === "number" ? d.config.eos_token_id : undefined,
  });

  const option = opts.dtype ?? "auto";
  const mainType = matrixType(option, embed.dtype);
  const tensors: GgufOutputTensor[] = [];
  const counts: Record<string, number> = {};
  const fellBack: string[] = [];
  const add = (t: GgufOutputTensor) => {
    tensors.push(t);
    counts[t.type.name] = (counts[t.type.name] ?? 0) + 1;
  };
  const layerRe = new RegExp(`^${family.layerPrefix.replace(/\./g, "\\.")}(\\d+)\\.(.+)\\.(weight|bias)$`);
  const ordered = [...folder.tensors.values()].sort(
    (a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name),
  );
  function order(name: string): number {
    const m = layerRe.exec(name);
    if (m) return 1 + Number(m[1]);
    return name === "model.embed_tokens.weight" ? 0 : Number.MAX_SAFE_INTEGER;
  }
  const factors = llama3RopeFactors(d);
  for (const entry of ordered) {
    const name = entry.name;
    if (/\.rotary_emb\.inv_freq$/.test(name)) continue; // recomputed from the config, as the converter does
    if (!["F32", "F16", "BF16"].includes(entry.dtype))
      throw new GgufExportError(
        `${entry.file}: tensor ${name} is ${entry.dtype}; GGUF export reads F32, F16 and BF16 tensors`,
      );
    let gguf: string | undefined;
    let key = "";
    const m = layerRe.exec(name);
    if (m) {
      key = m[2]!;
      const g = arch.layer[key];
      if (g) gguf = `blk.${m[1]}.${g}.${m[3]}`;
    } else gguf = GGUF_GLOBAL_NAMES[name];
    // deepen's engine reads an lm_head wherever there is one; llama.cpp's Gemma graphs never do.
    if (gguf === "output.weight" && arch.headIsEmbedding)
      throw new GgufExportError(
        `${entry.file}: tensor ${name}: llama.cpp's ${arch.arch} always uses the embeddings as the head, so an lm_head cannot be exported`,
      );
    if (!gguf)
      throw new GgufExportError(`${entry.file}: tensor ${name} has no GGUF name in llama.cpp's ${arch.arch}`);
    let type: GgufOutType = entry.shape.length === 1 ? "F32" : mainType;
    const cols = entry.shape[entry.shape.length - 1]!;
    if (type === "Q8_0" && cols % 32 !== 0) {
      type = "F16";
      fellBack.push(name);
    }
    const qk = key === "self_attn.q_proj" ? d.heads : key === "self_attn.k_proj" ? d.kvHeads : 0;
    add(
      ggufTensorFrom(gguf, entry, type, {
        permuteHeadRows: arch.permuteQK && qk ? d.headDim : undefined,
        plusOne: arch.normPlusOne && /norm\.weight$/.test(name),
      }),
    );
    if (name === "model.embed_tokens.weight" && factors) add(ggufF32Tensor(ROPE_FREQS_NAME, factors));
  }
  if (fellBack.length)
    notes.push(
      `${fellBack.length} tensor(s) written as F16, their rows not a multiple of Q8_0's 32 (${fellBack[0]}${fellBack.length > 1 ? ", …" : ""})`,
    );

  const meta: GgufMetadata = new Map();
  meta.set("general.architecture", ggufString(arch.arch));
  meta.set("general.name", ggufString(folder.name));
  meta.set("general.file_type", ggufU32(FILE_TYPE[mainType]));
  if (mainType === "Q8_0")
    meta.set("general.quantization_version", { type: GGUFValueType.UINT32, value: QUANTIZATION_VERSION });
  for (const [k, v] of hyperparams(d, arch, rows)) meta.set(k, v);
  for (const [k, v] of vocab.metadata) meta.set(k, v);
  // A deepen output keeps its lineage in the file, as the folder's deepen.json did.
  const lineage = await readLineage(folder.dir);
  if (lineage) meta.set(GGUF_LINEAGE_KEY, ggufString(JSON.stringify(lineage)));

  const total = tensors.reduce((s, t) => s + t.byteLength, 0);
  let done = 0;
  const bytes = await withAtomicFile(
    out,
    {
      force: opts.force,
      inputs: [folder.dir],
      replaceable: { kind: "GGUF file", test: looksLikeGguf },
    },
    (tmp) =>
      writeGguf(tmp, meta, tensors, {
        onBytes: (n) => {
          done += n;
          opts.onProgress?.(Math.min(done, total), total);
        },
      }),
  );
  return {
    file: out,
    bytes,
    tensors: tensors.length,
    architecture: arch.arch,
    dtypes: counts,
    tokenizer: { model: vocab.model, pre: vocab.pre, tokens: vocab.tokens },
    notes,
  };
}
