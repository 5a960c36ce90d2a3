// The SIMD merge kernels and the memory they run in. A Kernels object owns one WebAssembly memory;
// streams allocate their buffers in it (file reads land there, writes leave from there, so no bytes
// are copied between JavaScript and the kernels) and call kernels specialized for their dtypes.
//
// Every kernel computes exactly what the JavaScript code it replaces computes: the same float64
// operations in the same order, each output rounded to float32 once (round to nearest even), then
// encoded as dtype.ts encodes. WebAssembly arithmetic is IEEE 754 without fused multiply-add, so the
// results are bit for bit those of the JavaScript loops; only a NaN's payload bits may differ.
import {
  demote,
  groupLoop,
  loadF32x4,
  promote,
  SIMD_BYTES,
  SIMD_DTYPES,
  type SimdDType,
  storeF32x4,
} from "./codegen.js";
import { histHighKernel, histLowKernel, type MemberMode, taskOutputKernel } from "./taskKernels.js";
import { FunctionBuilder, moduleBytes, op, simdAvailable, type WasmMemory, wasmApi } from "./wasm.js";

const PAGE = 65536;

/** What an elementwise merge computes per element; the methods that have one say so (MergeMethod.simd). */
export type ElementwiseSpec =
  /** linear: (Σ wₘ·xₘ) / divisor, the sum starting at w₀·x₀. */
  | { kind: "linear"; weights: number[]; divisor: number }
  /** task arithmetic: base + (0 + Σ wᵢ·(xᵢ − base)) · scale over the inputs i ≠ baseIndex, in order. */
  | { kind: "task"; baseIndex: number; weights: number[]; scale: number };

const compiled = new Map<string, object>();

function compile(key: string, build: () => FunctionBuilder): object {
  let m = compiled.get(key);
  if (!m) {
    m = new wasmApi!.Module(moduleBytes([build()], 1));
    compiled.set(key, m);
  }
  return m;
}

/** δ = x − b in float32. (count: groups of four elements; dst; x; b) */
function deltaKernel(): FunctionBuilder {
  const f = new FunctionBuilder("run", ["i32", "i32", "i32", "i32"]);
  groupLoop(
    f,
    0,
    [
      [1, 16],
      [2, 16],
      [3, 16],
    ],
    () => {
      f.emit(op.get(1), op.get(2), op.v128Load(), op.get(3), op.v128Load(), op.f32x4Sub, op.v128Store());
    },
  );
  return f;
}

/** bf16 → f32: f32 bits = bf16 bits << 16. (count: groups of four elements; dst; src) */
function decodeBf16(): FunctionBuilder {
  const f = new FunctionBuilder("run", ["i32", "i32", "i32"]);
  const v = f.local("v128");
  groupLoop(
    f,
    0,
    [
      [1, 16],
      [2, 8],
    ],
    () => {
      loadF32x4(f, "BF16", 2);
      f.emit(op.set(v), op.get(1), op.get(v), op.v128Store());
    },
  );
  return f;
}

/** f32 → bf16, round to nearest even. (count; dst; src) */
function encodeBf16(): FunctionBuilder {
  const f = new FunctionBuilder("run", ["i32", "i32", "i32"]);
  const v = f.local("v128");
  groupLoop(
    f,
    0,
    [
      [1, 8],
      [2, 16],
    ],
    () => {
      f.emit(op.get(2), op.v128Load(), op.set(v));
      storeF32x4(f, "BF16", 1, v);
    },
  );
  return f;
}

/**
 * The linear kernel for inputs of dtypes `ins` and an output of dtype `out`:
 * (count, out, in₀…in_{N−1}, w₀…w_{N−1}, divisor). Without `divide` the division is left out (the
 * caller passes divisor 1, for which x / 1 = x exactly).
 */
function linearKernel(ins: SimdDType[], out: SimdDType, divide: boolean): FunctionBuilder {
  const N = ins.length;
  const f = new FunctionBuilder("run", [
    "i32",
    "i32",
    ...ins.map(() => "i32" as const),
    ...ins.map(() => "f64" as const),
    "f64",
  ]);
  const inP = (m: number) => 2 + m;
  const W = ins.map(() => f.local("v128"));
  const D = f.local("v128");
  const [v, lo, hi, alo, ahi] = [0, 0, 0, 0, 0].map(() => f.local("v128")) as [
    number,
    number,
    number,
    number,
    number,
  ];
  ins.forEach((_, m) => f.emit(op.get(2 + N + m), op.f64x2Splat, op.set(W[m]!)));
  f.emit(op.get(2 + 2 * N), op.f64x2Splat, op.set(D));
  const steps: [number, number][] = [
    [1, 4 * SIMD_BYTES[out]],
    ...ins.map((d, m): [number, number] => [inP(m), 4 * SIMD_BYTES[d]]),
  ];
  groupLoop(f, 0, steps, () => {
    ins.forEach((d, m) => {
      loadF32x4(f, d, inP(m));
      f.emit(op.set(v));
      promote(f, v, lo, hi);
      if (m === 0) {
        f.emit(op.get(W[0]!), op.get(lo), op.f64x2Mul, op.set(alo));
        f.emit(op.get(W[0]!), op.get(hi), op.f64x2Mul, op.set(ahi));
      } else {
        f.emit(op.get(alo), op.get(W[m]!), op.get(lo), op.f64x2Mul, op.f64x2Add, op.set(alo));
        f.emit(op.get(ahi), op.get(W[m]!), op.get(hi), op.f64x2Mul, op.f64x2Add, op.set(ahi));
      }
    });
    if (divide) {
      f.emit(op.get(alo), op.get(D), op.f64x2Div, op.set(alo));
      f.emit(op.get(ahi), op.get(D), op.f64x2Div, op.set(ahi));
    }
    demote(f, alo, ahi, v);
    storeF32x4(f, out, 1, v);
  });
  return f;
}

/**
 * The task-arithmetic kernel: (count, out, in₀…in_{N−1}, w₀…w_{N−1}, scale), base = input `b`
 * (its weight is ignored). δᵢ = xᵢ − base is rounded to float32 (f32x4.sub), as the JavaScript code
 * stores it in a Float32Array.
 */
function taskKernel(ins: SimdDType[], b: number, out: SimdDType): FunctionBuilder {
  const N = ins.length;
  const f = new FunctionBuilder("run", [
    "i32",
    "i32",
    ...ins.map(() => "i32" as const),
    ...ins.map(() => "f64" as const),
    "f64",
  ]);
  const inP = (m: number) => 2 + m;
  const W = ins.map(() => f.local("v128"));
  const S = f.local("v128");
  const [bv, v, lo, hi, mlo, mhi] = [0, 0, 0, 0, 0, 0].map(() => f.local("v128")) as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  ins.forEach((_, m) => f.emit(op.get(2 + N + m), op.f64x2Splat, op.set(W[m]!)));
  f.emit(op.get(2 + 2 * N), op.f64x2Splat, op.set(S));
  const steps: [number, number][] = [
    [1, 4 * SIMD_BYTES[out]],
    ...ins.map((d, m): [number, number] => [inP(m), 4 * SIMD_BYTES[d]]),
  ];
  groupLoop(f, 0, steps, () => {
    loadF32x4(f, ins[b]!, inP(b));
    f.emit(op.set(bv));
    f.emit(op.f64(0), op.f64x2Splat, op.tee(mlo), op.set(mhi));
    ins.forEach((d, m) => {
      if (m === b) return;
      loadF32x4(f, d, inP(m));
      f.emit(op.get(bv), op.f32x4Sub, op.set(v));
      promote(f, v, lo, hi);
      f.emit(op.get(mlo), op.get(W[m]!), op.get(lo), op.f64x2Mul, op.f64x2Add, op.set(mlo));
      f.emit(op.get(mhi), op.get(W[m]!), op.get(hi), op.f64x2Mul, op.f64x2Add, op.set(mhi));
    });
    promote(f, bv, lo, hi);
    f.emit(op.get(lo), op.get(mlo), op.get(S), op.f64x2Mul, op.f64x2Add, op.set(mlo));
    f.emit(op.get(hi), op.get(mhi), op.get(S), op.f64x2Mul, op.f64x2Add, op.set(mhi));
    demote(f, mlo, mhi, v);
    storeF32x4(f, out, 1, v);
  });
  return f;
}

type Run = (...args: number[]) => void;

/** Rounds an element count up to whole groups of four (the kernels' unit). */
export const groups = (n: number) => Math.ceil(n / 4);

/** A WebAssembly memory with a bump allocator, and the kernels instantiated over it. */
export class Kernels {
  private memory: WasmMemory;
  private top = 0;
  private instances = new Map<string, Run>();

  private constructor() {
    this.memory = new wasmApi!.Memory({ initial: 1 });
  }

  /** A Kernels object, or undefined where this engine has no WebAssembly SIMD. */
  static create(): Kernels | undefined {
    return simdAvailable() ? new Kernels() : undefined;
  }

  /** Whether elementwise work over these dtypes can run here (F16 cannot). */
  static handles(dtypes: readonly string[]): boolean {
    return dtypes.every((d) => SIMD_DTYPES.includes(d));
  }

  /** Frees every allocation (buffers of a finished tensor); views over them must no longer be used. */
  reset(): void {
    this.top = 0;
  }

  /**
   * Reserves `bytes` (16-byte aligned, rounded up to whole 16-byte groups) and returns the address.
   * May grow the memory, which invalidates earlier views: allocate first, then take views.
   */
  alloc(bytes: number): number {
    const at = this.top;
    this.top += Math.ceil(bytes / 16) * 16 + 16;
    const need = Math.ceil(this.top / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) this.memory.grow(need);
    return at;
  }

  bytes(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  floats(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** The address of a view over this memory (throws for any other array: a bug). */
  address(a: ArrayBufferView): number {
    if (a.buffer !== this.memory.buffer) throw new Error("internal: array outside the kernel memory");
    return a.byteOffset;
  }

  private kernel(key: string, build: () => FunctionBuilder): Run {
    let run = this.instances.get(key);
    if (!run) {
      const inst = new wasmApi!.Instance(compile(key, build), { env: { memory: this.memory } });
      run = inst.exports.run as Run;
      this.instances.set(key, run);
    }
    return run;
  }

  /** δ = x − b (float32 arrays) into dst. */
  delta(dst: number, x: number, b: number, count: number): void {
    this.kernel("delta", deltaKernel)(groups(count), dst, x, b);
  }

  /** hist[magnitude bits of x − b >>> 16]++ over count float32 elements (RankSelection's first pass). */
  histHigh(hist: number, x: number, b: number, count: number): void {
    this.kernel("hist-high", histHighKernel)(count, hist, x, b);
  }

  /** The second pass: low[lowIndex[bucket] · 65536 + low bits]++ for magnitudes in indexed buckets. */
  histLow(lowIndex: number, low: number, x: number, b: number, count: number): void {
    this.kernel("hist-low", histLowKernel)(count, lowIndex, low, x, b);
  }

  /** The task-arithmetic output pass over one chunk (taskKernels.ts's taskOutputKernel). */
  taskOutput(
    modes: MemberMode[],
    consensus: "none" | "sum",
    count: number,
    out: number,
    base: number,
    members: number[],
    weights: number[],
    factor: number,
    normalize: boolean,
    state: number,
  ): void {
    const run = this.kernel(`task-out/${modes.join(",")}/${consensus}`, () =>
      taskOutputKernel(modes, consensus),
    );
    run(count, out, base, ...members, ...weights, factor, normalize ? 1 : 0, state);
  }

  /** bf16 elements at src → float32 at dst. */
  decodeBf16(dst: number, src: number, count: number): void {
    this.kernel("decode-bf16", decodeBf16)(groups(count), dst, src);
  }

  /** float32 elements at src → bf16 at dst. */
  encodeBf16(dst: number, src: number, count: number): void {
    this.kernel("encode-bf16", encodeBf16)(groups(count), dst, src);
  }

  /** One chunk of an elementwise merge: inputs at `ins` (of dtypes `inTypes`) → `out` (of `outType`). */
  elementwise(
    spec: ElementwiseSpec,
    inTypes: SimdDType[],
    outType: SimdDType,
    out: number,
    ins: number[],
    count: number,
  ): void {
    const sig = `${inTypes.join(",")}>${outType}`;
    if (spec.kind === "linear") {
      const divide = spec.divisor !== 1;
      const run = this.kernel(`linear/${sig}/${divide}`, () => linearKernel(inTypes, outType, divide));
      run(groups(count), out, ...ins, ...spec.weights, spec.divisor);
    } else {
      const b = spec.baseIndex;
      const run = this.kernel(`task/${sig}/${b}`, () => taskKernel(inTypes, b, outType));
      run(groups(count), out, ...ins, ...spec.weights, spec.scale);
    }
  }
}
