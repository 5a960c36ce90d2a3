import { GGUFValueType } from "@huggingface/gguf";

/** One metadata value with its GGUF type (and its elements' type, for arrays), as the parser gives it. */
export interface GgufValue {
  type: GGUFValueType;
  value: unknown;
  subType?: GGUFValueType;
}

export type GgufMetadata = Map<string, GgufValue>;

const V = GGUFValueType;
export const ggufString = (value: string): GgufValue => ({ type: V.STRING, value });
export const ggufU32 = (value: number): GgufValue => ({ type: V.UINT32, value });
export const ggufI32 = (value: number): GgufValue => ({ type: V.INT32, value });
export const ggufF32 = (value: number): GgufValue => ({ type: V.FLOAT32, value });
export const ggufBool = (value: boolean): GgufValue => ({ type: V.BOOL, value });
export const ggufArray = (subType: GGUFValueType, value: unknown[]): GgufValue => ({
  type: V.ARRAY,
  subType,
  value,
});

/** A numeric value (any integer or float type, 64-bit ones included) as a JS number, or undefined. */
export function metaNumber(meta: GgufMetadata, key: string): number | undefined {
  const v = meta.get(key);
  if (!v) return undefined;
  if (typeof v.value === "number") return v.value;
  if (typeof v.value === "bigint") return Number(v.value);
  return undefined;
}

export function metaString(meta: GgufMetadata, key: string): string | undefined {
  const v = meta.get(key)?.value;
  return typeof v === "string" ? v : undefined;
}

/** The value in the form a person reads: arrays shown by type and length. */
export function describeValue(v: GgufValue): string {
  if (v.type === V.ARRAY) {
    const n = (v.value as unknown[]).length;
    return `[${V[v.subType ?? V.ARRAY] ?? "?"} × ${n}]`;
  }
  if (typeof v.value === "string")
    return v.value.length > 60 ? JSON.stringify(v.value.slice(0, 57) + "...") : JSON.stringify(v.value);
  return String(v.value);
}
