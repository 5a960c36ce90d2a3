import { DEFAULT_TEXT_EXTENSIONS } from "../data/corpus.js";
import { UsageError } from "../errors.js";

export function parseNumber(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new UsageError(`${option} ${value}: expected a number`);
  return n;
}

export function parseCount(value: string, option: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw new UsageError(`${option} ${value}: expected a non-negative integer`);
  return Number(value);
}

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** "5GB" (decimal, as Hugging Face's max_shard_size), "2GiB", "500MB", or plain bytes. */
export function parseByteSize(value: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? UNITS[m[2]!.toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(`${option} ${value}: expected a size such as 5GB, 500MB, 2GiB or a byte count`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes <= 0) throw new UsageError(`${option} ${value}: must be more than 0 bytes`);
  return bytes;
}

/** --ext txt,jsonl as a list of extensions; undefined when the option was not given. */
export function parseExtensions(value: string | undefined): string[] | undefined {
  return value?.split(",").map((e) => e.trim());
}

/** --ext's help text, the same in every command that reads folders. */
export const EXT_HELP = `in folders, read only these extensions (comma-separated; default ${DEFAULT_TEXT_EXTENSIONS.join(",")}, and .gz of each)`;
