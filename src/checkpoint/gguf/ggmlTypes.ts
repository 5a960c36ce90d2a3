import { GGMLQuantizationType } from "@huggingface/gguf";

/**
 * How ggml lays out one tensor type: `blockSize` elements along the innermost axis are stored as
 * one block of `bytesPerBlock` bytes (scales first, then packed values). A tensor's byte length
 * follows from its shape without decoding anything, which is all surgery needs to copy it.
 * Sizes are ggml's block structs (ggml-common.h); QK_K = 256 for the K-quants and most IQ types.
 */
export interface GgmlType {
  id: number;
  name: string;
  blockSize: number;
  bytesPerBlock: number;
}

const QK_K = 256;
const T = GGMLQuantizationType;

// [id, elements per block, bytes per block]
const ROWS: [number, number, number][] = [
  [T.F32, 1, 4],
  [T.F16, 1, 2],
  [T.BF16, 1, 2],
  [T.F64, 1, 8],
  [T.I8, 1, 1],
  [T.I16, 1, 2],
  [T.I32, 1, 4],
  [T.I64, 1, 8],
  [T.Q4_0, 32, 2 + 16], // f16 scale, 32 nibbles
  [T.Q4_1, 32, 2 + 2 + 16], // f16 scale and min
  [T.Q5_0, 32, 2 + 4 + 16], // f16 scale, 32 high bits, nibbles
  [T.Q5_1, 32, 2 + 2 + 4 + 16],
  [T.Q8_0, 32, 2 + 32], // f16 scale, 32 int8
  [T.Q8_1, 32, 2 + 2 + 32], // f16 scale and sum
  [T.Q2_K, QK_K, QK_K / 16 + QK_K / 4 + 2 + 2],
  [T.Q3_K, QK_K, QK_K / 8 + QK_K / 4 + 12 + 2],
  [T.Q4_K, QK_K, 2 + 2 + 12 + QK_K / 2],
  [T.Q5_K, QK_K, 2 + 2 + 12 + QK_K / 8 + QK_K / 2],
  [T.Q6_K, QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2],
  [T.Q8_K, QK_K, 4 + QK_K + (QK_K / 16) * 2],
  [T.IQ2_XXS, QK_K, 2 + QK_K / 4],
  [T.IQ2_XS, QK_K, 2 + QK_K / 4 + QK_K / 32],
  [T.IQ2_S, QK_K, 2 + QK_K / 4 + QK_K / 16],
  [T.IQ3_XXS, QK_K, 2 + (3 * QK_K) / 8],
  [T.IQ3_S, QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
  [T.IQ1_S, QK_K, 2 + QK_K / 8 + QK_K / 16],
  [T.IQ1_M, QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  [T.IQ4_NL, 32, 2 + 16],
  [T.IQ4_XS, QK_K, 2 + 2 + QK_K / 64 + QK_K / 2],
  [T.TQ1_0, QK_K, 2 + 4 * 13],
  [T.TQ2_0, QK_K, 2 + QK_K / 4],
  [T.MXFP4, 32, 1 + 16], // e8m0 scale, 32 fp4 codes
];

/** Every tensor type deepen can place in a file, by its ggml id. */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map(
  ROWS.map(([id, blockSize, bytesPerBlock]) => [
    id,
    { id, name: GGMLQuantizationType[id]!, blockSize, bytesPerBlock },
  ]),
);

export function ggmlTypeByName(name: string): GgmlType | undefined {
  const key = name.toUpperCase();
  for (const t of GGML_TYPES.values()) if (t.name === key) return t;
  return undefined;
}

/**
 * Bytes of a tensor of `type` with ggml dims `dims` (innermost first), or a reason it cannot be laid
 * out: blocks run along the innermost axis, so that axis must be a whole number of blocks.
 */
export function ggmlByteLength(type: GgmlType, dims: readonly number[]): number | string {
  const inner = dims[0] ?? 1;
  if (inner % type.blockSize !== 0) {
    return `its innermost dimension ${inner} is not a multiple of ${type.name}'s block of ${type.blockSize}`;
  }
  const elements = dims.reduce((a, b) => a * b, 1);
  return (elements / type.blockSize) * type.bytesPerBlock;
}

/*
 * All-zero bytes decode to zeros in every type above: floats and integers trivially; every quantized
 * block multiplies its codes by a scale stored in the block (f16/f32 d, K-quant super-block d and
 * dmin, IQ d, TQ d), and a zero scale gives zero whatever the codes; MXFP4's zero scale byte is
 * 2^-127 but its codes are zero too, and fp4 code 0 is +0. So an identity block's zeroed projections
 * are written as zero bytes in the tensor's own type.
 */
