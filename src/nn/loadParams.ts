import { join } from "node:path";
import { CONFIG_FILE, openModelFolder, type ModelFolder } from "../checkpoint/modelFolder.js";
import { readTensorCopy, StreamContext } from "../checkpoint/tensorStream.js";
import type { HostTensor } from "../runtime/session.js";
import { checkDecoderTensors } from "./checkDecoderTensors.js";
import { resolveDecoder, type ResolvedDecoder } from "../arch/decoderConfig.js";

export interface LoadedWeights {
  folder: ModelFolder;
  decoder: ResolvedDecoder;
  /** HF tensor name → float32 values (bf16/f16 widened), the form CPU kernels run on. */
  params: Map<string, HostTensor>;
}

/** Opens a model folder and reads every tensor as float32, one tensor at a time from its shard,
 * once the config and the tensors have been checked against each other. */
export async function loadWeights(dir: string): Promise<LoadedWeights> {
  const folder = await openModelFolder(dir);
  const decoder = resolveDecoder(folder.config, join(folder.dir, CONFIG_FILE));
  checkDecoderTensors(decoder, folder.tensors, folder.dir);
  const io = new StreamContext();
  const params = new Map<string, HostTensor>();
  try {
    for (const [name, e] of folder.tensors) {
      const data = await readTensorCopy(io, e);
      params.set(name, { dtype: "float32", shape: e.shape, data });
    }
  } finally {
    await io.close();
  }
  return { folder, decoder, params };
}
