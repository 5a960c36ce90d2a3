// The task-arithmetic family's chunked merge when its chunks live in a kernel memory (a streamed merge
// from disk): the same passes and the same values as taskArithmeticPlan's JavaScript, with the hot
// loops in SIMD kernels (kernels/taskKernels.ts):
// - magnitude-ranked members without rescale (TIES, Model Breadcrumbs): the two histogram passes and
//   the rank-window masks run in kernels, straight from the inputs (|x − base| is recomputed, never
//   stored);
// - other sparsified members (DARE, DELLA, anything with rescale): task vectors are formed by a
//   kernel into a scratch chunk and sparsified by sparsify.ts as in the JavaScript plan ("given");
// - the output pass (task vectors, masks, sign consensus by sum or none, mixing) is one kernel.
import type { Kernels } from "../kernels/kernels.js";
import { type MemberMode, WINDOW_STATE_WORDS } from "../kernels/taskKernels.js";
import type { ChunkedInput, ChunkedMerge, ChunkPass } from "./method.js";
import { RANK_BUCKETS, RankSelection, RankWindow, rankWindowOf } from "./sparsify.js";
import type { Member, Setup } from "./taskArithmetic.js";

interface WindowMember {
  lo: number;
  hi: number;
  /** Kernel memory: first histogram, bucket index, two low histograms. */
  hist: number;
  lowIndex: number;
  low: number;
  selection?: RankSelection;
}

function modeOf(m: Member, n: number): { mode: MemberMode; window?: [number, number] } {
  const o = m.options;
  if (o.method === "none" || o.density >= 1) return { mode: "identity" };
  const w = rankWindowOf(o, n);
  if (!w || o.rescale) return { mode: "given" };
  const trivial = RankWindow.trivial(w[0], w[1], n);
  if (trivial) return { mode: trivial.all === 0 ? "zero" : "identity" };
  return { mode: "window", window: w };
}

export function simdTaskPlan(s: Setup, consensus: "none" | "sum", input: ChunkedInput): ChunkedMerge {
  const kernels: Kernels = input.kernels!;
  const n = input.length;
  const baseIndex = input.baseIndex!;
  const { members, normalize } = s;
  const k = members.length;
  const kinds = members.map((m) => modeOf(m, n));
  const modes = kinds.map((x) => x.mode);
  const windows = new Map<number, WindowMember>();
  const given = new Map<number, number>(); // member → scratch address
  let state = 0;
  let round = 0;
  let done = false;

  const addr = (a: Float32Array) => kernels.address(a);
  /** A given member's task vector for a chunk, formed in its scratch. */
  const delta = (i: number, chunks: Float32Array[]): Float32Array => {
    const c = chunks[baseIndex]!.length;
    const at = given.get(i)!;
    kernels.delta(at, addr(chunks[members[i]!.index]!), addr(chunks[baseIndex]!), c);
    return kernels.floats(at, c);
  };

  return {
    align: s.align,
    prepare(chunk) {
      state = kernels.alloc(4 * WINDOW_STATE_WORDS * Math.max(k, 1));
      kinds.forEach((kind, i) => {
        if (kind.mode === "window") {
          const hist = kernels.alloc(4 * RANK_BUCKETS);
          const lowIndex = kernels.alloc(2 * RANK_BUCKETS);
          const low = kernels.alloc(2 * 4 * 65536);
          windows.set(i, { lo: kind.window![0], hi: kind.window![1], hist, lowIndex, low });
        } else if (kind.mode === "given") given.set(i, kernels.alloc(4 * chunk));
      });
      // Views only now: the allocations above may have grown the memory.
      for (const w of windows.values()) {
        const u32 = (at: number, len: number) => new Uint32Array(kernels.bytes(at, 4 * len).buffer, at, len);
        w.selection = new RankSelection(RankWindow.ranks(w.lo, w.hi), {
          high: u32(w.hist, RANK_BUCKETS),
          lowIndex: new Int16Array(
            kernels.bytes(w.lowIndex, 2 * RANK_BUCKETS).buffer,
            w.lowIndex,
            RANK_BUCKETS,
          ),
          low: [u32(w.low, 65536), u32(w.low + 4 * 65536, 65536)],
        });
      }
    },
    nextPass() {
      if (done) return undefined;
      const r = round++;
      const work: ((start: number, chunks: Float32Array[]) => void)[] = [];
      for (const [i, w] of windows) {
        const sel = w.selection!;
        const x = members[i]!.index;
        if (r === 0)
          work.push((_s, chunks) =>
            kernels.histHigh(w.hist, addr(chunks[x]!), addr(chunks[baseIndex]!), chunks[x]!.length),
          );
        else if (r === 1) {
          sel.endHigh();
          work.push((_s, chunks) =>
            kernels.histLow(w.lowIndex, w.low, addr(chunks[x]!), addr(chunks[baseIndex]!), chunks[x]!.length),
          );
        } else if (r === 2) {
          // The window's state for the output kernel: vLo, vHi, lessLo, lessHi, lo, hi, seenLo, seenHi.
          const win = RankWindow.of(w.lo, w.hi, sel.endLow());
          const words = new Uint32Array(
            kernels.bytes(state, 4 * WINDOW_STATE_WORDS * k).buffer,
            state,
            WINDOW_STATE_WORDS * k,
          );
          words.set([win.vLo, win.vHi, win.lessLo, win.lessHi, win.lo, win.hi, 0, 0], WINDOW_STATE_WORDS * i);
        }
      }
      for (const i of given.keys()) {
        const pass = members[i]!.sparsifier.nextPass();
        if (pass) work.push((start, chunks) => pass(start, delta(i, chunks)));
      }
      // Windows have work in rounds 0 and 1 and are finalized in round 2; given members stop when
      // their sparsifier does (it finalizes itself then).
      if (work.length === 0) {
        done = true;
        return undefined;
      }
      const pass: ChunkPass = (start, chunks) => {
        for (const w of work) w(start, chunks);
      };
      return pass;
    },
    output(start, chunks, out) {
      const base = chunks[baseIndex]!;
      if (k === 0) {
        out.set(base);
        return;
      }
      const ptrs = members.map((m, i) => {
        if (!given.has(i)) return addr(chunks[m.index]!);
        members[i]!.sparsifier.apply(start, delta(i, chunks));
        return given.get(i)!;
      });
      kernels.taskOutput(
        modes,
        consensus,
        out.length,
        addr(out),
        addr(base),
        ptrs,
        members.map((m) => m.weight),
        consensus === "none" ? s.scale : s.lambda,
        normalize,
        state,
      );
    },
  };
}
