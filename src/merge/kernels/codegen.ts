// Code generation for the SIMD merge kernels: loading four elements of a dtype as f32x4, storing
// four f32 values as a dtype, and the f32x4 ⇄ two f64x2 conversions. Every kernel walks its arrays
// four elements at a time; callers round element counts up to a multiple of 4 and give every
// buffer that much room (the extra lanes compute garbage that is never read).
import { FunctionBuilder, HIGH_HALF, LOW_HALVES, op } from "./wasm.js";

/** The dtypes the SIMD kernels read and write (F16 goes through the JavaScript kernels). */
export type SimdDType = "BF16" | "F32";
export const SIMD_DTYPES: readonly string[] = ["BF16", "F32"];
export const SIMD_BYTES: Record<SimdDType, number> = { BF16: 2, F32: 4 };

/** Pushes four elements at the address in local `ptr` as f32x4 (BF16: the bits shifted into the top half). */
export function loadF32x4(f: FunctionBuilder, d: SimdDType, ptr: number): void {
  if (d === "F32") f.emit(op.get(ptr), op.v128Load());
  else f.emit(op.get(ptr), op.v128Load16x4U(), op.i32(16), op.i32x4Shl);
}

/**
 * Stores the f32x4 in local `v` at the address in local `ptr` as dtype d. BF16 rounds to nearest
 * even and keeps NaNs NaN (quiet bit set), exactly as dtype.ts's encodeFloats does.
 */
export function storeF32x4(f: FunctionBuilder, d: SimdDType, ptr: number, v: number): void {
  if (d === "F32") {
    f.emit(op.get(ptr), op.get(v), op.v128Store());
    return;
  }
  const hi = f.local("v128");
  f.emit(op.get(v), op.i32(16), op.i32x4ShrU, op.set(hi));
  f.emit(
    op.get(ptr),
    // NaN: (x >>> 16) | 0x40
    op.get(hi),
    op.i32x4Const(0x40),
    op.v128Or,
    // else: (x + 0x7fff + ((x >>> 16) & 1)) >>> 16
    op.get(v),
    op.i32x4Const(0x7fff),
    op.i32x4Add,
    op.get(hi),
    op.i32x4Const(1),
    op.v128And,
    op.i32x4Add,
    op.i32(16),
    op.i32x4ShrU,
    // (x & 0x7fffffff) > 0x7f800000
    op.get(v),
    op.i32x4Const(0x7fffffff),
    op.v128And,
    op.i32x4Const(0x7f800000),
    op.i32x4GtS,
    op.v128Bitselect,
    op.get(v), // any second operand: only the low four u16 lanes are stored
    op.i16x8NarrowI32x4U,
    op.v128Store64Lane(0),
  );
}

/** Splits the f32x4 in local `v` into two f64x2 locals (lanes 0–1, lanes 2–3). */
export function promote(f: FunctionBuilder, v: number, lo: number, hi: number): void {
  f.emit(op.get(v), op.f64x2PromoteLowF32x4, op.set(lo));
  f.emit(op.get(v), op.get(v), op.i8x16Shuffle(HIGH_HALF), op.f64x2PromoteLowF32x4, op.set(hi));
}

/** Rounds two f64x2 locals to one f32x4 (round to nearest even, as Math.fround) into local `v`. */
export function demote(f: FunctionBuilder, lo: number, hi: number, v: number): void {
  f.emit(
    op.get(lo),
    op.f32x4DemoteF64x2Zero,
    op.get(hi),
    op.f32x4DemoteF64x2Zero,
    op.i8x16Shuffle(LOW_HALVES),
    op.set(v),
  );
}

/**
 * Emits `for (; count > 0; count--) { body; ptr_k += step_k }` over groups of four elements.
 * `count` is a local holding the number of groups.
 */
export function groupLoop(
  f: FunctionBuilder,
  count: number,
  pointers: [local: number, step: number][],
  body: () => void,
): void {
  f.emit(op.block, op.loop);
  f.emit(op.get(count), op.i32Eqz, op.brIf(1));
  body();
  for (const [p, step] of pointers) f.emit(op.get(p), op.i32(step), op.i32Add, op.set(p));
  f.emit(op.get(count), op.i32(1), op.i32Sub, op.set(count));
  f.emit(op.br(0), op.end, op.end);
}
