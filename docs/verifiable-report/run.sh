#!/usr/bin/env bash
# The measurements of docs/verifiable-report/README.md, from the repository root's fetched assets
# (scripts/fetch-model.sh, scripts/fetch-data.sh) and the release build: M0's instruction
# following (80 instructed MT-Bench prompts), verifiable EFT from M0's answers to 120 ShareGPT
# prompts, M0 as a judge of the held-out verifiable pairs; then M1 = M0 + SFT on that EFT, judged
# and checked the same way. Every stage journals or writes whole files; a rerun resumes.
set -euo pipefail
cd "$(dirname "$0")/../.."
srlm=target/release/srlm
m0=assets/SmolLM2-135M-Instruct.Q4_1.gguf
d=runs/verifiable
mkdir -p $d
date
[[ -f $d/ift.jsonl ]] || $srlm data import sharegpt assets/data/sharegpt.json --out $d/ift.jsonl
$srlm data instruct --tasks assets/data/mt_bench.jsonl --out $d/mtbench-instructed.jsonl --min-words 30 --max-words 200 --seed 1
$srlm data instruct --tasks $d/ift.jsonl --out $d/sharegpt-instructed.jsonl --count 200 --max-task-words 40 --min-words 30 --max-words 200 --seed 2
$srlm eval --model M0=$m0 --instructed $d/mtbench-instructed.jsonl --held-out-prompts 0 --prompts 0 --reference-prompts 0 --max-tokens 256 --out $d/eval-if-m0
date
head -n 120 $d/sharegpt-instructed.jsonl > $d/sharegpt-instructed-120.jsonl
/usr/bin/time -v $srlm data build-eft verifiable --model $m0 --instructed $d/sharegpt-instructed-120.jsonl --out-dir $d/eft --answers 4 --held-out 0.3 --max-new-tokens 192 2> $d/eft.time
date
$srlm eval --model M0=$m0 --held-out $d/eft/eft-held-out.jsonl --held-out-prompts 64 --prompts 0 --reference-prompts 0 --out $d/eval-judge-m0
date
tail -n 64 $d/ift.jsonl > $d/ift-64.jsonl
/usr/bin/time -v $srlm sft --model $m0 --data $d/ift-64.jsonl --data $d/eft/eft-train.jsonl --out $d/m1 \
  --max-len 1024 --batch-size 8 --lr 1e-4 --final-lr 2e-5 --dropout 0 --epochs 1 2> $d/sft.time
date
mkdir -p $d/eval-m0-m1/journal
cp $d/eval-if-m0/journal/* $d/eval-judge-m0/journal/* $d/eval-m0-m1/journal/
$srlm eval --model M0=$m0 --model M1=$d/m1 --held-out $d/eft/eft-held-out.jsonl --held-out-prompts 64 \
  --instructed $d/mtbench-instructed.jsonl --prompts 0 --reference-prompts 0 --max-tokens 256 --out $d/eval-m0-m1
date
