// The log-likelihood of continuations given contexts, batched. The choices of one question share
// their context; `shared` runs it once: one row holds the context, then every choice in a segment of
// its own whose positions restart where the context ends, each segment seeing the context and itself
// (SHARED_SEGMENT), so K choices cost one context instead of K. The context's last token is repeated
// at the head of each segment: its logits predict each choice's first token, and one position can
// carry one target only. Without `shared`, each context + continuation is its own causal row, as the
// harness runs them.
import { UsageError } from "../../errors.js";
import type { DecoderModel } from "../../nn/decoderModel.js";
import { SHARED_SEGMENT } from "../../nn/rope.js";

export interface TokenRequest {
  /** At least one token (the harness puts a BOS/EOS before an empty context). */
  context: number[];
  continuation: number[];
}

export interface LoglikelihoodOptions {
  /** Longest sequence (context + continuation) a row may hold; contexts are cut from the left to fit. */
  maxLength: number;
  /** Tokens one run holds at most: rows per run = this ÷ the row length (at least 1). */
  tokensPerRun: number;
  padId: number;
  shared: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Row lengths are rounded up to these steps so few graph shapes are compiled. */
function bucket(n: number): number {
  let t = 32;
  while (t < n) t = Math.ceil((t * 1.25) / 16) * 16;
  return t;
}

interface Row {
  tokens: number[];
  targets: number[];
  positions: number[];
  segments: number[];
  /** Which request each scored slot belongs to: [request, first slot, end slot). */
  spans: [number, number, number][];
}

/** Cuts a request's context from the left so context + continuation fit `maxLength` (+1 for the last target). */
function fitted(r: TokenRequest, maxLength: number, i: number): TokenRequest {
  if (r.continuation.length === 0)
    throw new UsageError(`request ${i}: an empty continuation has nothing to score`);
  if (r.continuation.length > maxLength)
    throw new UsageError(
      `a continuation of ${r.continuation.length} tokens does not fit the model's ${maxLength}`,
    );
  const keep = maxLength + 1 - r.continuation.length;
  return r.context.length > keep ? { context: r.context.slice(-keep), continuation: r.continuation } : r;
}

function sharedRows(requests: TokenRequest[], maxLength: number): Row[] {
  const groups = new Map<string, number[]>();
  requests.forEach((r, i) => {
    const key = r.context.join(",");
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const rows: Row[] = [];
  // A row longer than this splits its choices over several rows (attention cost grows with its square).
  const rowCap = Math.max(2 * maxLength, 512);
  for (const members of groups.values()) {
    const ctx = requests[members[0]!]!.context;
    const C = ctx.length;
    let row: Row | undefined;
    for (const i of members) {
      const cont = requests[i]!.continuation;
      if (!row || row.tokens.length + cont.length > rowCap) {
        row = { tokens: [], targets: [], positions: [], segments: [], spans: [] };
        for (let t = 0; t < C - 1; t++) {
          row.tokens.push(ctx[t]!);
          row.targets.push(ctx[t + 1]!);
          row.positions.push(t);
          row.segments.push(SHARED_SEGMENT);
        }
        rows.push(row);
      }
      const seg = row.spans.length + 1;
      const from = row.tokens.length;
      const input = [ctx[C - 1]!, ...cont.slice(0, -1)];
      input.forEach((tok, k) => {
        row!.tokens.push(tok);
        row!.targets.push(cont[k]!);
        row!.positions.push(C - 1 + k);
        row!.segments.push(seg);
      });
      row.spans.push([i, from, row.tokens.length]);
    }
  }
  return rows;
}

function separateRows(requests: TokenRequest[]): Row[] {
  return requests.map((r, i) => {
    const all = [...r.context, ...r.continuation];
    const T = all.length - 1;
    return {
      tokens: all.slice(0, -1),
      targets: all.slice(1),
      positions: [...Array(T).keys()],
      segments: new Array<number>(T).fill(0),
      spans: [[i, r.context.length - 1, T]],
    };
  });
}

/** Summed log-probability of each request's continuation given its context. */
export async function loglikelihoods(
  model: DecoderModel,
  requests: TokenRequest[],
  o: LoglikelihoodOptions,
): Promise<Float64Array> {
  const fit = requests.map((r, i) => fitted(r, o.maxLength, i));
  const rows = o.shared ? sharedRows(fit, o.maxLength) : separateRows(fit);
  rows.sort((a, b) => a.tokens.length - b.tokens.length);
  const out = new Float64Array(requests.length);
  let done = 0;
  for (let i = 0; i < rows.length;) {
    const T = bucket(rows[i]!.tokens.length);
    const B = Math.max(1, Math.floor(o.tokensPerRun / T));
    const run: Row[] = [];
    while (run.length < B && i < rows.length && bucket(rows[i]!.tokens.length) === T) run.push(rows[i++]!);
    const real = run.length;
    // A short run repeats its last row so the graph keeps one batch size per length.
    while (run.length < B) run.push(run[real - 1]!);
    const pad = (xs: number[], v: number) => [...xs, ...new Array<number>(T - xs.length).fill(v)];
    const tokens = run.map((r) => pad(r.tokens, o.padId));
    const targets = run.map((r) => pad(r.targets, o.padId));
    let nll: Float32Array;
    if (o.shared) {
      // Padding gets positions after the row's last and a segment of its own, which sees nothing real.
      const positions = run.map((r) => pad(r.positions, 0).map((p, t) => (t < r.tokens.length ? p : t)));
      const segments = run.map((r) => pad(r.segments, -2));
      nll = await model.nllPerRow(tokens, targets, positions, segments);
    } else {
      nll = await model.nll(tokens, targets);
    }
    for (let b = 0; b < real; b++) {
      for (const [req, from, to] of run[b]!.spans) {
        let s = 0;
        for (let t = from; t < to; t++) s -= nll[b * T + t]!;
        out[req] = s;
        done++;
      }
    }
    o.onProgress?.(done, requests.length);
  }
  return out;
}
