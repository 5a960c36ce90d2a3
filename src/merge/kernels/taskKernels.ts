// Kernels for the task-arithmetic family's streamed passes (see methods/taskArithmetic.ts):
// histograms of |x − base| for the exact rank selection of TIES and Model Breadcrumbs, and the output
// pass (task vectors, rank-window masks, sign consensus, mixing) over four elements at a time.
// Each computes what the JavaScript of sparsify.ts and taskArithmetic.ts computes, operation for
// operation (the comments name the line each part mirrors).
import { demote, promote } from "./codegen.js";
import { FunctionBuilder, op } from "./wasm.js";

const INF = 0x7f800000;

/** Leaves the magnitude bits of |x − b| (NaN → +∞ bits) for f32 values x and b on the stack. */
function scalarMagnitude(f: FunctionBuilder, x: number, b: number, m: number): void {
  f.emit(op.get(x), op.f32Load(), op.get(b), op.f32Load(), op.f32Sub, op.i32ReinterpretF32);
  f.emit(op.i32(0x7fffffff), op.i32And, op.tee(m));
  // m > INF ? INF : m
  f.emit(op.i32(INF), op.get(m), op.get(m), op.i32(INF), op.i32GtU, op.select);
}

/** Emits `while (count > 0) { body; x += 4; b += 4; count-- }` (scalar, one element per step). */
function scalarLoop(f: FunctionBuilder, count: number, ptrs: number[], body: () => void): void {
  f.emit(op.block, op.loop, op.get(count), op.i32Eqz, op.brIf(1));
  body();
  for (const p of ptrs) f.emit(op.get(p), op.i32(4), op.i32Add, op.set(p));
  f.emit(op.get(count), op.i32(1), op.i32Sub, op.set(count), op.br(0), op.end, op.end);
}

/** (count, hist, x, b): hist[magnitude bits of x − b >>> 16]++ (RankSelection.countHigh). */
export function histHighKernel(): FunctionBuilder {
  const f = new FunctionBuilder("run", ["i32", "i32", "i32", "i32"]);
  const [count, hist, x, b] = [0, 1, 2, 3];
  const m = f.local("i32");
  const at = f.local("i32");
  scalarLoop(f, count, [x, b], () => {
    scalarMagnitude(f, x, b, m);
    f.emit(op.i32(16), op.i32ShrU, op.i32(2), op.i32Shl, op.get(hist), op.i32Add, op.tee(at));
    f.emit(op.get(at), op.i32Load(), op.i32(1), op.i32Add, op.i32Store());
  });
  return f;
}

/**
 * (count, lowIndex, low, x, b): for magnitudes whose bucket has a low histogram (lowIndex: int16 per
 * bucket, −1 for none), low[k · 65536 + (bits & 0xffff)]++ (RankSelection.countLow).
 */
export function histLowKernel(): FunctionBuilder {
  const f = new FunctionBuilder("run", ["i32", "i32", "i32", "i32", "i32"]);
  const [count, lowIndex, low, x, b] = [0, 1, 2, 3, 4];
  const m = f.local("i32");
  const k = f.local("i32");
  const at = f.local("i32");
  scalarLoop(f, count, [x, b], () => {
    scalarMagnitude(f, x, b, m);
    f.emit(op.set(m));
    f.emit(op.get(m), op.i32(16), op.i32ShrU, op.i32(1), op.i32Shl, op.get(lowIndex), op.i32Add);
    f.emit(op.i32Load16S(), op.tee(k), op.i32(0), op.i32LtS, op.i32Eqz, op.if);
    f.emit(op.get(k), op.i32(18), op.i32Shl, op.get(m), op.i32(0xffff), op.i32And, op.i32(2), op.i32Shl);
    f.emit(op.i32Add, op.get(low), op.i32Add, op.tee(at));
    f.emit(op.get(at), op.i32Load(), op.i32(1), op.i32Add, op.i32Store(), op.end);
  });
  return f;
}

/**
 * How the output kernel gets model i's sparsified task vector:
 * identity: x − base as it is; window: x − base masked by a rank window (its state in the state
 * block); zero: x − base times 0; given: already computed (the pointer is the sparsified delta).
 */
export type MemberMode = "identity" | "window" | "zero" | "given";

/** Words of a window's state: vLo, vHi, lessLo, lessHi, lo, hi, seenLo, seenHi (u32 each). */
export const WINDOW_STATE_WORDS = 8;

/**
 * The output pass: (count, out, base, p₀…p_{k−1}, w₀…w_{k−1}, factor, normalize, state), out as f32.
 * consensus none: out = base + (0 + Σ wᵢδᵢ)·factor (factor = lambda / divisor);
 * consensus sum: vote = 0 + Σ wᵢδᵢ; agreeing terms (wᵢδᵢ of vote's sign, zero never) mixed and their
 * weights summed; out = base + (normalize and Σw ≠ 0 ? mixed/Σw : mixed)·factor (factor = lambda).
 * Window members keep their tie counters in the state block (8 words per member, in member order).
 */
export function taskOutputKernel(modes: MemberMode[], consensus: "none" | "sum"): FunctionBuilder {
  const k = modes.length;
  const f = new FunctionBuilder("run", [
    "i32",
    "i32",
    "i32",
    ...modes.map(() => "i32" as const),
    ...modes.map(() => "f64" as const),
    "f64",
    "i32",
    "i32",
  ]);
  const [rem, out, base] = [0, 1, 2];
  const ptr = (i: number) => 3 + i;
  const weight = (i: number) => 3 + k + i;
  const factor = 3 + 2 * k;
  const normalize = 4 + 2 * k;
  const state = 5 + 2 * k;

  const v128 = () => f.local("v128");
  const W = modes.map(() => v128());
  const F = v128();
  const ONE = v128();
  const ZERO = v128();
  const bv = v128();
  const [blo, bhi, d, dlo, dhi] = [v128(), v128(), v128(), v128(), v128()];
  const [mag, keep, tie] = [v128(), v128(), v128()];
  const xlo = modes.map(() => v128());
  const xhi = modes.map(() => v128());
  const [alo, ahi, mlo, mhi, dvlo, dvhi, plo, phi, g] = [
    v128(),
    v128(),
    v128(),
    v128(),
    v128(),
    v128(),
    v128(),
    v128(),
    v128(),
  ];
  // Window members: thresholds as vectors, and the scalars of the tie rule.
  const win = modes.map((mode) =>
    mode === "window"
      ? {
          VLO: v128(),
          VHI: v128(),
          vLo: f.local("i32"),
          vHi: f.local("i32"),
          lessLo: f.local("i32"),
          lessHi: f.local("i32"),
          lo: f.local("i32"),
          hi: f.local("i32"),
          seenLo: f.local("i32"),
          seenHi: f.local("i32"),
        }
      : undefined,
  );
  const m = f.local("i32");
  const rank = f.local("i32");

  // Setup: splats, and the windows' state.
  modes.forEach((_, i) => f.emit(op.get(weight(i)), op.f64x2Splat, op.set(W[i]!)));
  f.emit(op.get(factor), op.f64x2Splat, op.set(F));
  f.emit(op.i32x4Const(0x3f800000), op.set(ONE), op.i32x4Const(0), op.set(ZERO));
  win.forEach((w, i) => {
    if (!w) return;
    const word = (n: number) => op.i32Load(4 * (WINDOW_STATE_WORDS * i + n));
    const fields = [w.vLo, w.vHi, w.lessLo, w.lessHi, w.lo, w.hi, w.seenLo, w.seenHi];
    fields.forEach((l, n) => f.emit(op.get(state), word(n), op.set(l)));
    f.emit(op.get(w.vLo), op.i32x4Splat, op.set(w.VLO), op.get(w.vHi), op.i32x4Splat, op.set(w.VHI));
  });

  f.emit(op.block, op.loop);
  f.emit(op.get(rem), op.i32(0), op.i32LtS, op.get(rem), op.i32Eqz, op.i32Or, op.brIf(1));
  f.emit(op.get(base), op.v128Load(), op.set(bv));
  modes.forEach((mode, i) => {
    if (mode === "given") f.emit(op.get(ptr(i)), op.v128Load(), op.set(d));
    // taskArithmetic.ts delta(): d[j] = x[j] − base[j] (float32)
    else f.emit(op.get(ptr(i)), op.v128Load(), op.get(bv), op.f32x4Sub, op.set(d));
    if (mode === "zero") f.emit(op.get(d), op.get(ZERO), op.f32x4Mul, op.set(d));
    const w = win[i];
    if (w) {
      // RankWindow.mask: m = magnitude bits; keep = m > vLo && m < vHi; ties at vLo / vHi by rank.
      f.emit(op.get(d), op.i32x4Const(0x7fffffff), op.v128And, op.set(mag));
      f.emit(op.i32x4Const(INF), op.get(mag), op.get(mag), op.i32x4Const(INF), op.i32x4GtS, op.v128Bitselect);
      f.emit(op.set(mag));
      f.emit(op.get(mag), op.get(w.VLO), op.i32x4GtU, op.get(mag), op.get(w.VHI), op.i32x4LtU, op.v128And);
      f.emit(op.set(keep));
      f.emit(op.get(mag), op.get(w.VLO), op.i32x4Eq, op.get(mag), op.get(w.VHI), op.i32x4Eq, op.v128Or);
      f.emit(op.tee(tie), op.v128AnyTrue, op.if);
      for (let lane = 0; lane < 4; lane++) {
        // Only lanes holding elements of the chunk count (lane < rem).
        f.emit(
          op.i32(lane),
          op.get(rem),
          op.i32LtS,
          op.get(tie),
          op.i32x4ExtractLane(lane),
          op.i32And,
          op.if,
        );
        f.emit(op.get(mag), op.i32x4ExtractLane(lane), op.tee(m), op.get(w.vLo), op.i32Eq, op.if);
        f.emit(op.get(w.lessLo), op.get(w.seenLo), op.i32Add, op.set(rank));
        f.emit(op.get(w.seenLo), op.i32(1), op.i32Add, op.set(w.seenLo));
        f.emit(op.else);
        f.emit(op.get(w.lessHi), op.get(w.seenHi), op.i32Add, op.set(rank));
        f.emit(op.get(w.seenHi), op.i32(1), op.i32Add, op.set(w.seenHi));
        f.emit(op.end);
        // keep[lane] = rank ≥ lo && rank < hi ? −1 : 0
        f.emit(op.get(keep), op.i32(0));
        f.emit(op.get(rank), op.get(w.lo), op.i32GeU, op.get(rank), op.get(w.hi), op.i32LtU, op.i32And);
        f.emit(op.i32Sub, op.i32x4ReplaceLane(lane), op.set(keep));
        f.emit(op.end);
      }
      f.emit(op.end);
      // applyMask: delta · mask (1.0 or 0.0, so ∞ · 0 is NaN as in JavaScript)
      f.emit(op.get(d), op.get(keep), op.get(ONE), op.v128And, op.f32x4Mul, op.set(d));
    }
    // x = w · δ in float64
    promote(f, d, dlo, dhi);
    f.emit(op.get(W[i]!), op.get(dlo), op.f64x2Mul, op.set(xlo[i]!));
    f.emit(op.get(W[i]!), op.get(dhi), op.f64x2Mul, op.set(xhi[i]!));
  });
  promote(f, bv, blo, bhi);
  const zero64 = () => f.emit(op.f64(0), op.f64x2Splat);
  if (consensus === "none") {
    // mixed = 0 + Σ x; out = base + mixed · scale
    zero64();
    f.emit(op.tee(alo), op.set(ahi));
    modes.forEach((_, i) => {
      f.emit(op.get(alo), op.get(xlo[i]!), op.f64x2Add, op.set(alo));
      f.emit(op.get(ahi), op.get(xhi[i]!), op.f64x2Add, op.set(ahi));
    });
    f.emit(op.get(blo), op.get(alo), op.get(F), op.f64x2Mul, op.f64x2Add, op.set(alo));
    f.emit(op.get(bhi), op.get(ahi), op.get(F), op.f64x2Mul, op.f64x2Add, op.set(ahi));
  } else {
    // vote = 0 + Σ x; plo/phi: vote ≥ 0
    zero64();
    f.emit(op.tee(alo), op.set(ahi));
    modes.forEach((_, i) => {
      f.emit(op.get(alo), op.get(xlo[i]!), op.f64x2Add, op.set(alo));
      f.emit(op.get(ahi), op.get(xhi[i]!), op.f64x2Add, op.set(ahi));
    });
    zero64();
    f.emit(op.set(g));
    f.emit(op.get(alo), op.get(g), op.f64x2Ge, op.set(plo), op.get(ahi), op.get(g), op.f64x2Ge, op.set(phi));
    f.emit(op.get(g), op.tee(mlo), op.tee(mhi), op.tee(dvlo), op.set(dvhi));
    // agree = vote ≥ 0 ? x > 0 : x < 0; mixed += agree ? x : 0; divisor += agree ? w : 0 (adding +0
    // changes nothing: neither sum can be −0, they start at +0 and a zero term never agrees).
    const agree = (x: number, p: number, mx: number, dv: number, i: number): void => {
      f.emit(op.get(x), op.get(g), op.f64x2Gt, op.get(x), op.get(g), op.f64x2Lt, op.get(p), op.v128Bitselect);
      f.emit(op.set(tie));
      f.emit(op.get(mx), op.get(x), op.get(tie), op.v128And, op.f64x2Add, op.set(mx));
      f.emit(op.get(dv), op.get(W[i]!), op.get(tie), op.v128And, op.f64x2Add, op.set(dv));
    };
    modes.forEach((_, i) => {
      agree(xlo[i]!, plo, mlo, dvlo, i);
      agree(xhi[i]!, phi, mhi, dvhi, i);
    });
    // m = normalize && divisor ≠ 0 ? mixed / divisor : mixed; out = base + m · lambda
    f.emit(op.get(normalize), op.if);
    for (const [mx, dv] of [
      [mlo, dvlo],
      [mhi, dvhi],
    ] as const) {
      f.emit(op.get(mx), op.get(dv), op.f64x2Div, op.get(mx), op.get(dv), op.get(g), op.f64x2Ne);
      f.emit(op.v128Bitselect, op.set(mx));
    }
    f.emit(op.end);
    f.emit(op.get(blo), op.get(mlo), op.get(F), op.f64x2Mul, op.f64x2Add, op.set(alo));
    f.emit(op.get(bhi), op.get(mhi), op.get(F), op.f64x2Mul, op.f64x2Add, op.set(ahi));
  }
  demote(f, alo, ahi, d);
  f.emit(op.get(out), op.get(d), op.v128Store());
  for (const p of [out, base, ...modes.map((_, i) => ptr(i))])
    f.emit(op.get(p), op.i32(16), op.i32Add, op.set(p));
  f.emit(op.get(rem), op.i32(4), op.i32Sub, op.set(rem), op.br(0), op.end, op.end);

  // The windows' tie counters carry over to the next chunk.
  win.forEach((w, i) => {
    if (!w) return;
    f.emit(op.get(state), op.get(w.seenLo), op.i32Store(4 * (WINDOW_STATE_WORDS * i + 6)));
    f.emit(op.get(state), op.get(w.seenHi), op.i32Store(4 * (WINDOW_STATE_WORDS * i + 7)));
  });
  return f;
}
