#!/usr/bin/env bash
# The reward, ablated (README, "With the checks as the judge"): iteration 1's pairs as the checks
# would choose them on its instructed prompts (checked) against the self-judge's own pairs on the
# same prompts (self), each trained from M1 by `srlm dpo` at the loop's settings (1 epoch, peak
# lr 2e-5) and stronger (3 epochs, peak lr 5e-5), then instruction following of all six models
# on the run's 80 held-out instructed prompts. Needs runs/demo through iteration 1 (run.sh).
set -euo pipefail
cd "$(dirname "$0")/../../.."
srlm=${SRLM:-target/release/srlm}
run=${1:-runs/demo}
out=${2:-runs/demo-ablation}
mkdir -p "$out"
cargo run --release -p srlm --example checked_pairs -- "$run/iter1" "$run/iter1"
train() { # arm, name, lr, final lr, epochs
  $srlm dpo --model "$run/M1" --reference "$run/M1" --data "$run/iter1-$1.jsonl" \
    --out "$out/$2" --max-len 768 --batch-size 8 --micro-batch-tokens 4096 \
    --lr "$3" --final-lr "$4" --epochs "$5" --dropout 0 --beta 0.1
}
for arm in checked self; do
  [ -f "$out/M2-$arm/model.safetensors" ] || train $arm M2-$arm 2e-5 4e-6 1
  [ -f "$out/M2-$arm-x3/model.safetensors" ] || train $arm M2-$arm-x3 5e-5 1e-5 3
done
$srlm eval --model M1="$run/M1" --model M2="$run/M2" \
  --model M2-checked="$out/M2-checked" --model M2-self="$out/M2-self" \
  --model M2-checked-x3="$out/M2-checked-x3" --model M2-self-x3="$out/M2-self-x3" \
  --instructed "$run/data/instructed-eval.jsonl" \
  --held-out-kinds detectable_format:title,startend:quotation,change_case:english_capital \
  --max-tokens 384 --held-out-prompts 0 --prompts 0 --reference-prompts 0 --out "$out/report"
