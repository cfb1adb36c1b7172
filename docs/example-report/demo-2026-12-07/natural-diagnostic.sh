#!/usr/bin/env bash
# Issue 38's first diagnostic on this demo's natural EFT (`docs/judge-training.md`, "On the
# demo's natural data"): M1 on its own training EFT, then M0 + SFT on the 161 natural records
# alone — 3 epochs at lr 1e-4 (N3), 1 epoch at 1e-4 (N1) and at 3e-5 (N1s) — each judging its
# own training pairs and the first 22 held-out natural prompts beside M1 (report:
# OUT/n1-train/report.md, OUT/n1-held-out/report.md). Needs `run.sh`'s `runs/demo` (M1, its
# data, and `srlm eval --run`'s journal, whose M1 verdicts are reused).
# Resumes: every `srlm eval` journals its verdicts, and a finished SFT is skipped.
set -euo pipefail
cd "$(dirname "$0")/../../.."
srlm=${SRLM:-target/release/srlm}
run=${1:-runs/demo}
out=${2:-runs/demo-diag}
m0=assets/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$out"
grep '"origin":"natural' "$run/data/sft-eft.jsonl" > "$out/natural-train.jsonl"
grep '"origin":"natural' "$run/data/eft-held-out.jsonl" > "$out/natural-held-out.jsonl"

# M1 on every record it was trained on (natural and verifiable).
$srlm eval --model M1="$run/M1" --no-baseline --held-out "$run/data/sft-eft.jsonl" \
  --held-out-prompts 96 --prompts 0 --reference-prompts 0 --out "$out/m1-train"

# M0 + SFT on the natural records alone; a finished arm is kept.
sft() { # NAME EPOCHS LR FINAL_LR
  [ -f "$out/$1/model.safetensors" ] || $srlm sft --model "$m0" --data "$out/natural-train.jsonl" \
    --out "$out/$1" --max-len 768 --batch-size 8 --epochs "$2" --lr "$3" --final-lr "$4" --dropout 0
}
# Each arm judges its training pairs (all 37 prompts) and the first 22 held-out natural prompts
# beside M1, whose verdicts come from the journal named (m1-train's, and `srlm eval --run`'s).
judge() { # OUT train|held-out JOURNAL_FROM NAME=PATH...
  local dir=$1 set=$2 from=$3 models=()
  shift 3
  for m in "$@"; do models+=(--model "$m"); done
  mkdir -p "$out/$dir/journal"
  cp -n "$from"/journal/*-judging.jsonl "$out/$dir/journal/"
  $srlm eval "${models[@]}" --model M1="$run/M1" --no-baseline \
    --held-out "$out/natural-$set.jsonl" --held-out-prompts "$([ "$set" = train ] && echo 96 || echo 22)" \
    --prompts 0 --reference-prompts 0 --out "$out/$dir"
}

sft n161-e3 3 1e-4 2e-5
judge n3-train train "$out/m1-train" N3="$out/n161-e3"
judge n3-held-out held-out "$run/report" N3="$out/n161-e3"
sft n1 1 1e-4 2e-5
sft n1s 1 3e-5 6e-6
judge n1-train train "$out/n3-train" N1="$out/n1" N1s="$out/n1s" N3="$out/n161-e3"
judge n1-held-out held-out "$out/n3-held-out" N1="$out/n1" N1s="$out/n1s" N3="$out/n161-e3"
