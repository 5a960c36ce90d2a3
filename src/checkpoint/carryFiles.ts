import { copyFile, readdir } from "node:fs/promises";
import { join } from "node:path";

// Files that describe the source's weights or its own history, not the tokenizer or generation
// settings: never carried into an output, which writes its own.
const NOT_CARRIED = [
  /\.safetensors$/,
  /\.safetensors\.index\.json$/,
  /\.(bin|pt|pth|ckpt|gguf|h5|msgpack|onnx|onnx_data)$/,
  /^pytorch_model.*\.json$/,
  /^config\.json$/,
  /^README\.md$/i,
  /^deepen\.json$/,
  /^trainer_state\.json$/,
  /^metrics\.jsonl$/,
  /^mergekit_config\.yml$/,
  /^\./,
];

/** The top-level files an output takes from its tokenizer source unchanged: tokenizer, chat template, generation config. */
export async function carriedFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !NOT_CARRIED.some((re) => re.test(e.name)))
    .map((e) => e.name)
    .sort();
}

export async function carryFiles(fromDir: string, toDir: string): Promise<string[]> {
  const names = await carriedFiles(fromDir);
  for (const n of names) await copyFile(join(fromDir, n), join(toDir, n));
  return names;
}
