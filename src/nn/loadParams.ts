import { join } from "node:path";
import { decodeFloats, DTYPE_BYTES } from "../checkpoint/dtype.js";
import { CONFIG_FILE, openModelFolder, type ModelFolder } from "../checkpoint/modelFolder.js";
import { StreamContext } from "../checkpoint/tensorStream.js";
import type { HostTensor } from "../runtime/session.js";
import { resolveDecoder, type ResolvedDecoder } from "./decoderConfig.js";

export interface LoadedWeights {
  folder: ModelFolder;
  decoder: ResolvedDecoder;
  /** HF tensor name → float32 values (bf16/f16 widened), the form CPU kernels run on. */
  params: Map<string, HostTensor>;
}

/** Opens a model folder and reads every tensor as float32, one tensor at a time from its shard. */
export async function loadWeights(dir: string): Promise<LoadedWeights> {
  const folder = await openModelFolder(dir);
  const decoder = resolveDecoder(folder.config, join(folder.dir, CONFIG_FILE));
  const io = new StreamContext();
  const params = new Map<string, HostTensor>();
  try {
    for (const [name, e] of folder.tensors) {
      const fh = await io.handle(e.file);
      const bytes = new Uint8Array(new ArrayBuffer(e.end - e.begin));
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await fh.read(bytes, done, bytes.length - done, e.begin + done);
        if (bytesRead === 0) throw new Error(`${e.file}: ended early reading ${name}`);
        done += bytesRead;
      }
      const data = new Float32Array(bytes.length / DTYPE_BYTES[e.dtype]);
      decodeFloats(e.dtype, bytes, data);
      params.set(name, { dtype: "float32", shape: e.shape, data });
    }
  } finally {
    await io.close();
  }
  return { folder, decoder, params };
}
