// Growing the vocabulary of a loaded model: the embedding (and an untied head) gain rows for tokens
// the tokenizer adds. New rows start at the mean of the rows the tokenizer already used, the
// initialisation Hewitt ("Initializing new word embeddings for pretrained language models", 2021)
// showed keeps the model's predictions on existing text unchanged and the new tokens' initial
// probability moderate; rows that stay zero or random would give the new tokens arbitrary logits.
import { UsageError } from "../errors.js";
import type { HostTensor } from "../runtime/session.js";
import type { ResolvedDecoder } from "../arch/decoderConfig.js";

/**
 * `params` with rows [used, used + added) of the embedding and the untied head set to the mean of
 * rows [0, used), `used` being the tokenizer's length before the new tokens. The tensors grow when
 * those rows are past their end; an embedding padded past the tokenizer (to a multiple of 64, say)
 * already has them, untrained, and keeps its size. Other rows are copied unchanged.
 */
export function growEmbeddings(
  d: ResolvedDecoder,
  params: Map<string, HostTensor>,
  used: number,
  added: number,
): Map<string, HostTensor> {
  const names = [d.family.decoderTensors.embed, d.family.decoderTensors.head].filter((n) => params.has(n));
  const out = new Map(params);
  for (const name of names) {
    const t = params.get(name)!;
    if (t.shape.length !== 2)
      throw new UsageError(
        `--add-chat-tokens: ${name} has shape [${t.shape.join(", ")}], not [vocabulary, hidden]; cannot add rows`,
      );
    const [V, H] = t.shape as [number, number];
    if (used > V)
      throw new UsageError(`--add-chat-tokens: ${name} has ${V} rows, the tokenizer ${used} tokens`);
    const src = t.data as Float32Array;
    const mean = new Float64Array(H);
    for (let r = 0; r < used; r++) for (let h = 0; h < H; h++) mean[h]! += src[r * H + h]!;
    for (let h = 0; h < H; h++) mean[h]! /= Math.max(1, used);
    const n = Math.max(V, used + added);
    const data = new Float32Array(n * H);
    data.set(src);
    for (let r = used; r < used + added; r++) for (let h = 0; h < H; h++) data[r * H + h] = mean[h]!;
    out.set(name, { dtype: "float32", shape: [n, H], data });
  }
  return out;
}
