#!/usr/bin/env bash
# Judge accuracy against the size of verifiable EFT (issue 38's curve): M0's own answers to 240
# instructed ShareGPT prompts, ordered by the checks (`srlm data build-eft verifiable`), 30 % of
# the prompts held out; then SFT of M0 on a quarter, a half and all of the training prompts' EFT
# records (EFT only, 1 epoch, lr 1e-4 → 2e-5), and each judge scored on the same held-out
# own-vs-own pairs and on its own training records. Run from the repository root after
# scripts/fetch-model.sh, scripts/fetch-data.sh and `cargo build --release -p srlm-cli`.
# Every stage journals or writes whole files; a rerun resumes.
set -euo pipefail
cd "$(dirname "$0")/../.."
srlm=target/release/srlm
m0=assets/SmolLM2-135M-Instruct.Q4_1.gguf
d=runs/eft-size
mkdir -p "$d"
date
[[ -f $d/ift.jsonl ]] || $srlm data import sharegpt assets/data/sharegpt.json --out "$d/ift.jsonl"
[[ -f $d/instructed.jsonl ]] || $srlm data instruct --tasks "$d/ift.jsonl" --out "$d/instructed.jsonl" \
  --count 240 --max-task-words 40 --min-words 20 --max-words 120 --seed 3
[[ -f $d/eft/eft-train.jsonl ]] || /usr/bin/time -v $srlm data build-eft verifiable --model $m0 \
  --instructed "$d/instructed.jsonl" --out-dir "$d/eft" --answers 4 --held-out 0.3 --max-new-tokens 256 \
  2> "$d/eft.time"
date
# Training subsets by prompt: the first K of the training prompts (grouped, sorted by prompt).
prompts=$(jq -s 'group_by(.prompt) | length' "$d/eft/eft-train.jsonl")
for part in 1 2 4; do
  k=$(( prompts * part / 4 ))
  f=$d/eft-train-$part-4.jsonl
  [[ -f $f ]] || jq -s -c "group_by(.prompt) | .[:$k] | .[][]" "$d/eft/eft-train.jsonl" > "$f"
  m=$d/m1-$part-4
  [[ -f $m/model.safetensors ]] || /usr/bin/time -v $srlm sft --model $m0 --data "$f" --out "$m" \
    --max-len 1024 --batch-size 8 --lr 1e-4 --final-lr 2e-5 --dropout 0 --epochs 1 2> "$d/sft-$part-4.time"
  date
  $srlm eval --model "E${part}q=$m" --no-baseline --held-out "$d/eft/eft-held-out.jsonl" --held-out-prompts 1000 \
    --prompts 0 --reference-prompts 0 --out "$d/eval-held-out-$part-4"
  date
done
# One report with the three judges side by side (paired), from the journals above.
mkdir -p "$d/eval-held-out/journal"
cp "$d"/eval-held-out-?-4/journal/* "$d/eval-held-out/journal/"
$srlm eval --model "E1q=$d/m1-1-4" --model "E2q=$d/m1-2-4" --model "E4q=$d/m1-4-4" --no-baseline \
  --held-out "$d/eft/eft-held-out.jsonl" --held-out-prompts 1000 --prompts 0 --reference-prompts 0 \
  --out "$d/eval-held-out"
date
# Each judge on its own training records (does it learn the decision where it was taught?).
for part in 1 2 4; do
  $srlm eval --model "E${part}q=$d/m1-$part-4" --no-baseline --held-out "$d/eft-train-$part-4.jsonl" \
    --held-out-prompts 1000 --prompts 0 --reference-prompts 0 --out "$d/eval-train-$part-4"
  date
done
