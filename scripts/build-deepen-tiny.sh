#!/usr/bin/env bash
# Rebuilds assets/deepen-tiny from the embedded corpus with deepen's own commands: a byte-level BPE
# tokenizer, a freshly initialised LlamaForCausalLM, pretraining from scratch, a bf16 copy of the
# final weights (a one-slice passthrough recipe) and its held-out perplexity. About an hour on two
# CPU cores.
#
#   npm ci && scripts/build-deepen-tiny.sh [WORK_DIR] [STEPS]
#
# The card (assets/deepen-tiny/README.md) is written from the figures this script measures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-deepen-tiny-work}
STEPS=${2:-1800}
OUT="$ROOT/assets/deepen-tiny"
deepen() { node "$ROOT/dist/src/cli/main.js" "$@"; }

deepen tokenizer train embedded:train --vocab 4096 -o "$WORK/tokenizer" --force
deepen init -o "$WORK/init" --tokenizer "$WORK/tokenizer" --layers 8 --hidden 256 --intermediate 688 \
  --heads 8 --kv-heads 4 --context 256 --seed 0 --force
deepen train pretrain --model "$WORK/init" --data embedded:train --eval-data embedded:heldout \
  --seq-len 256 --batch 16 --lr 2e-3 --min-lr 2e-4 --warmup 100 --max-steps "$STEPS" \
  --eval-every 200 --eval-batches 8 --save-every 200 --keep-last 2 --seed 0 --out "$WORK/run" --force

# The training run keeps float32 weights and the optimizer state (for exact resume); the asset is
# the weights alone in bf16.
cat > "$WORK/export.yml" <<'YAML'
slices:
  - sources:
      - model: run/final
        layer_range: [0, 8]
merge_method: passthrough
YAML
deepen upscale --recipe "$WORK/export.yml" --dtype bf16 -o "$OUT" --force
rm -f "$OUT/deepen.json" # its lineage names this machine's work folder

PPL=$(deepen eval "$OUT" --perplexity embedded:heldout --batch 8 --json)
SAMPLE=$(deepen generate "$OUT" "The" --max-tokens 60 --temperature 0.8 --top-p 0.95 --seed 1)
node "$ROOT/scripts/deepen-tiny-card.mjs" "$OUT" "$WORK/run/metrics.jsonl" "$STEPS" "$PPL" "$SAMPLE"
echo "wrote $OUT; held-out: $PPL"
