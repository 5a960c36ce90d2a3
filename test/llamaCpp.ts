// llama.cpp (through node-llama-cpp's prebuilt CPU binary) as the independent reader of deepen's
// GGUF exports: it loads once per test file and gives the per-position next-token distributions and
// the tokenization llama.cpp computes for a file.
import { getLlama, type Llama, LlamaLogLevel } from "node-llama-cpp";
import { DecoderModel } from "../src/nn/decoderModel.js";

let llama: Promise<Llama> | undefined;

/** The CPU llama.cpp, loaded once per process (the first load takes ~0.5 s). */
export function llamaCpp(): Promise<Llama> {
  return (llama ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error }));
}

export interface LlamaCppRun {
  /** Log-probabilities [positions − 1][vocab]: row i is the distribution after ids[0..i]. */
  logProbs: Float64Array[];
  /** llama.cpp's tokenization of `text` (no BOS or EOS added), when asked. */
  tokens?: number[];
  shouldPrependBos: boolean;
}

/** Runs `ids` through the GGUF file in llama.cpp and reads the full distribution at every position. */
export async function runLlamaCpp(file: string, ids: number[], text?: string): Promise<LlamaCppRun> {
  const l = await llamaCpp();
  const model = await l.loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    const tokens = text === undefined ? undefined : model.tokenize(text, false).map(Number);
    // An f32 KV cache: the default f16 cache would round keys and values, a difference of the cache, not the file.
    const context = await model.createContext({
      contextSize: Math.max(256, ids.length),
      batchSize: Math.max(256, ids.length),
      threads: 2,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
    });
    try {
      const seq = context.getSequence();
      const out = await seq.controlledEvaluate(
        ids.map((t, i) => (i < ids.length - 1 ? [t, { generateNext: { probabilities: true } }] : t)) as never,
      );
      const logProbs: Float64Array[] = [];
      for (let i = 0; i < ids.length - 1; i++) {
        const probs = out[i]?.next.probabilities;
        if (!probs) throw new Error(`llama.cpp gave no probabilities at position ${i}`);
        const row = new Float64Array(probs.size).fill(-Infinity);
        for (const [tok, p] of probs) row[Number(tok)] = Math.log(p);
        logProbs.push(row);
      }
      return { logProbs, tokens, shouldPrependBos: model.tokens.shouldPrependBosToken };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** deepen's engine on the same ids: log-softmax of its logits at every position but the last. */
export async function runDeepen(dir: string, ids: number[]): Promise<Float64Array[]> {
  const model = await DecoderModel.load(dir);
  try {
    const logits = await model.logits([ids]);
    const V = logits.length / ids.length;
    const rows: Float64Array[] = [];
    for (let i = 0; i < ids.length - 1; i++) {
      const z = logits.subarray(i * V, (i + 1) * V);
      let max = -Infinity;
      for (const v of z) max = Math.max(max, v);
      let sum = 0;
      for (const v of z) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      rows.push(Float64Array.from(z, (v) => v - lse));
    }
    return rows;
  } finally {
    await model.release();
  }
}

export interface Agreement {
  /** Max |Δ log p| of the actual next token. */
  nextToken: number;
  /** Max |Δ log p| over every token with log p > −20 in deepen's distribution. */
  anyToken: number;
  /** Spread of deepen's next-token log-probabilities (max − min), showing the comparison is not of flat distributions. */
  spread: number;
}

export function compare(deepen: Float64Array[], cpp: Float64Array[], ids: number[]): Agreement {
  let nextToken = 0;
  let anyToken = 0;
  let lo = Infinity;
  let hi = -Infinity;
  deepen.forEach((row, i) => {
    const t = ids[i + 1]!;
    nextToken = Math.max(nextToken, Math.abs(row[t]! - cpp[i]![t]!));
    lo = Math.min(lo, row[t]!);
    hi = Math.max(hi, row[t]!);
    for (let v = 0; v < row.length; v++)
      if (row[v]! > -20) anyToken = Math.max(anyToken, Math.abs(row[v]! - cpp[i]![v]!));
  });
  return { nextToken, anyToken, spread: hi - lo };
}
