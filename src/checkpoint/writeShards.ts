import { type FileHandle, open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeSafetensorsHeader } from "./safetensorsHeader.js";
import { INDEX_FILE } from "./modelFolder.js";
import { type ByteSink, type OutputTensor, StreamContext } from "./tensorStream.js";

/** Hugging Face's default max_shard_size ("5GB", decimal). */
export const DEFAULT_SHARD_BYTES = 5_000_000_000;

export interface WrittenWeights {
  files: string[];
  totalSize: number;
}

export interface WriteShardsOptions {
  shardBytes?: number;
  /** Called with the bytes written so far, after every chunk. */
  onProgress?: (written: number) => void;
}

export function shardName(i: number, n: number): string {
  const pad = (k: number) => String(k).padStart(5, "0");
  return `model-${pad(i + 1)}-of-${pad(n)}.safetensors`;
}

/** Splits tensors, in order, into shards of at most `shardBytes` (a bigger tensor gets a shard to itself). */
export function planShards<T extends { byteLength: number }>(
  tensors: readonly T[],
  shardBytes: number,
): T[][] {
  const shards: T[][] = [];
  let cur: T[] = [];
  let size = 0;
  for (const t of tensors) {
    if (cur.length > 0 && size + t.byteLength > shardBytes) {
      shards.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.byteLength;
  }
  if (cur.length > 0) shards.push(cur);
  return shards;
}

/** Writes bytes at the end of an open file, counting them. */
export class FileSink implements ByteSink {
  position = 0;
  constructor(
    private fh: FileHandle,
    private onBytes: (n: number) => void,
  ) {}
  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.byteLength - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
    this.onBytes(bytes.byteLength);
  }
}

/** Writes one safetensors file holding `tensors`, front to back, with the shared stream context. */
export async function writeSafetensorsFile(
  file: string,
  tensors: readonly OutputTensor[],
  io: StreamContext,
  onBytes: (n: number) => void = () => {},
): Promise<number> {
  let offset = 0;
  const entries = tensors.map((t) => {
    const e = { name: t.name, dtype: t.dtype, shape: t.shape, begin: offset, end: offset + t.byteLength };
    offset += t.byteLength;
    return e;
  });
  const fh = await open(file, "wx");
  try {
    const sink = new FileSink(fh, onBytes);
    await sink.write(encodeSafetensorsHeader(entries, { format: "pt" }));
    for (const t of tensors) {
      const start = sink.position;
      await t.write(sink, io);
      if (sink.position - start !== t.byteLength) {
        throw new Error(
          `internal: tensor ${t.name} produced ${sink.position - start} bytes, expected ${t.byteLength}`,
        );
      }
    }
  } finally {
    await fh.close();
  }
  return offset;
}

/**
 * Writes tensors as safetensors shards plus model.safetensors.index.json into `dir`, one tensor
 * in flight at a time. Shard headers are computed up front from the tensors' sizes, so each shard
 * is written front to back in a single pass.
 */
export async function writeShards(
  dir: string,
  tensors: readonly OutputTensor[],
  opts: WriteShardsOptions = {},
): Promise<WrittenWeights> {
  const shards = planShards(tensors, opts.shardBytes ?? DEFAULT_SHARD_BYTES);
  const io = new StreamContext();
  let written = 0;
  const weightMap = Object.create(null) as Record<string, string>; // tensor names are file data: "__proto__" is a name
  const files: string[] = [];
  let totalSize = 0;
  try {
    for (let s = 0; s < shards.length; s++) {
      const name = shardName(s, shards.length);
      const file = join(dir, name);
      for (const t of shards[s]!) weightMap[t.name] = name;
      totalSize += await writeSafetensorsFile(file, shards[s]!, io, (n) => {
        written += n;
        opts.onProgress?.(written);
      });
      files.push(file);
    }
  } finally {
    await io.close();
  }
  const sortedMap = Object.fromEntries(
    Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const index = { metadata: { total_size: totalSize }, weight_map: sortedMap };
  await writeFile(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + "\n");
  return { files, totalSize };
}
