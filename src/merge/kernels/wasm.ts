// A small WebAssembly binary emitter: enough of the format (types, one imported memory, functions,
// exports, code) and of the instruction set (integer, float and 128-bit SIMD) for the merge kernels.
// Kernels are generated at run time, specialized for their input and output dtypes and the number of
// models, and compiled by the JavaScript engine like any module. Encodings follow the WebAssembly core
// specification (binary format, section 5; SIMD opcodes are 0xFD followed by a LEB128 sub-opcode).

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

/** Signed LEB128 (32-bit values). */
export function sleb(v: number): number[] {
  const out: number[] = [];
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const f64Bytes = (x: number) => [...new Uint8Array(new Float64Array([x]).buffer)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
/** memarg: alignment exponent and offset. */
const mem = (align: number, offset = 0) => [align, ...uleb(offset)];

/** Instructions, as byte arrays. Names follow the text format (i32.add → i32Add). */
export const op = {
  // control
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  return: [0x0f],
  drop: [0x1a],
  select: [0x1b],
  // variables
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  // memory
  i32Load: (offset = 0) => [0x28, ...mem(2, offset)],
  f32Load: (offset = 0) => [0x2a, ...mem(2, offset)],
  f64Load: (offset = 0) => [0x2b, ...mem(3, offset)],
  i32Load16U: (offset = 0) => [0x2f, ...mem(1, offset)],
  i32Load16S: (offset = 0) => [0x2e, ...mem(1, offset)],
  i32Load8U: (offset = 0) => [0x2d, ...mem(0, offset)],
  i32Store: (offset = 0) => [0x36, ...mem(2, offset)],
  f32Store: (offset = 0) => [0x38, ...mem(2, offset)],
  f64Store: (offset = 0) => [0x39, ...mem(3, offset)],
  i32Store8: (offset = 0) => [0x3a, ...mem(0, offset)],
  i32Store16: (offset = 0) => [0x3b, ...mem(1, offset)],
  // constants
  i32: (v: number) => [0x41, ...sleb(v)],
  f64: (v: number) => [0x44, ...f64Bytes(v)],
  // i32
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32Ne: [0x47],
  i32LtS: [0x48],
  i32LtU: [0x49],
  i32GtS: [0x4a],
  i32GtU: [0x4b],
  i32LeU: [0x4d],
  i32GeU: [0x4f],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32Or: [0x72],
  i32Xor: [0x73],
  i32Shl: [0x74],
  i32ShrS: [0x75],
  i32ShrU: [0x76],
  i32Popcnt: [0x69],
  // f32 / f64
  f32Lt: [0x5d],
  f32Sub: [0x93],
  f64Eq: [0x61],
  f64Ne: [0x62],
  f64Lt: [0x63],
  f64Gt: [0x64],
  f64Ge: [0x66],
  f32Abs: [0x8b],
  f64Abs: [0x99],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f64Div: [0xa3],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  f64ConvertI32U: [0xb8],
  i32ReinterpretF32: [0xbc],
  f32ReinterpretI32: [0xbe],
  // SIMD
  v128Load: (offset = 0) => simd(0x00, ...mem(4, offset)),
  v128Load16x4U: (offset = 0) => simd(0x04, ...mem(3, offset)),
  v128Load8x8U: (offset = 0) => simd(0x02, ...mem(3, offset)),
  v128Load64Zero: (offset = 0) => simd(0x5d, ...mem(3, offset)),
  v128Store: (offset = 0) => simd(0x0b, ...mem(4, offset)),
  v128Store64Lane: (lane: number, offset = 0) => simd(0x5b, ...mem(3, offset), lane),
  v128Store32Lane: (lane: number, offset = 0) => simd(0x5a, ...mem(2, offset), lane),
  /** A v128 constant of four i32 lanes. */
  i32x4Const: (a: number, b = a, c = a, d = a) => {
    const bytes = new Uint8Array(new Int32Array([a, b, c, d]).buffer);
    return simd(0x0c, ...bytes);
  },
  i8x16Shuffle: (lanes: number[]) => simd(0x0d, ...lanes),
  i32x4Splat: simd(0x11),
  f64x2Splat: simd(0x14),
  i32x4ExtractLane: (lane: number) => simd(0x1b, lane),
  i32x4ReplaceLane: (lane: number) => simd(0x1c, lane),
  f64x2ExtractLane: (lane: number) => simd(0x21, lane),
  i32x4Eq: simd(0x37),
  i32x4GtS: simd(0x3b),
  i32x4GtU: simd(0x3c),
  i32x4LtU: simd(0x3a),
  f64x2Eq: simd(0x47),
  f64x2Ne: simd(0x48),
  f64x2Lt: simd(0x49),
  f64x2Gt: simd(0x4a),
  f64x2Ge: simd(0x4c),
  v128Not: simd(0x4d),
  v128And: simd(0x4e),
  v128AndNot: simd(0x4f),
  v128Or: simd(0x50),
  v128Xor: simd(0x51),
  v128Bitselect: simd(0x52),
  v128AnyTrue: simd(0x53),
  f32x4DemoteF64x2Zero: simd(0x5e),
  f64x2PromoteLowF32x4: simd(0x5f),
  i16x8NarrowI32x4U: simd(0x86),
  i32x4Bitmask: simd(0xa4),
  i32x4ExtendLowI16x8U: simd(0xa9),
  i32x4ExtendHighI16x8U: simd(0xaa),
  i32x4Shl: simd(0xab),
  i32x4ShrU: simd(0xad),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  f32x4Abs: simd(0xe0),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f64x2Abs: simd(0xec),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Mul: simd(0xf2),
  f64x2Div: simd(0xf3),
} as const;

/** Shuffle lanes that move the high 64 bits of the first operand to the low half. */
export const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Shuffle lanes joining the low 64 bits of both operands. */
export const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

type Code = number[] | readonly number[];

/** One function: its signature, its locals and its body. */
export class FunctionBuilder {
  private readonly locals: ValType[] = [];
  private readonly body: number[] = [];
  constructor(
    readonly name: string,
    readonly params: ValType[],
    readonly results: ValType[] = [],
  ) {}

  /** A new local of `type`; its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  /** Appends instructions. */
  emit(...code: Code[]): this {
    for (const c of code) this.body.push(...c);
    return this;
  }

  /** The function's code entry: locals (run-length encoded) and body. */
  encode(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const bytes = [
      ...uleb(groups.length),
      ...groups.flatMap(([n, t]) => [...uleb(n), VALTYPE[t]]),
      ...this.body,
      ...op.end,
    ];
    return [...uleb(bytes.length), ...bytes];
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => {
  const b = [...Buffer.from(s, "utf8")];
  return [...uleb(b.length), ...b];
};
const section = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload];

/** A module of `fns` over one memory imported as env.memory (pages of 64 KiB), every function exported. */
export function moduleBytes(fns: FunctionBuilder[], minPages: number): Uint8Array {
  const types = fns.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [VALTYPE[t]])),
    ...vec(f.results.map((t) => [VALTYPE[t]])),
  ]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(minPages)]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => f.encode()))),
  ];
  return Uint8Array.from(bytes);
}

/** The parts of the WebAssembly JavaScript API the kernels use (lib.dom is not in this project's types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Whether this engine runs WebAssembly SIMD (Node ≥ 16 does; checked once with a one-instruction module). */
let simdOk: boolean | undefined;
export function simdAvailable(): boolean {
  if (simdOk === undefined) {
    const f = new FunctionBuilder("f", [], ["v128"]).emit(op.i32x4Const(0));
    try {
      simdOk = wasmApi !== undefined && wasmApi.validate(moduleBytes([f], 0));
    } catch {
      simdOk = false;
    }
  }
  return simdOk;
}
