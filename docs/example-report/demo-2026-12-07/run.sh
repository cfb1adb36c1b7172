#!/usr/bin/env bash
# The embedded demo with verifiable instructions (issue 38's bar: the demo rerun with verifiable
# EFT and instructed prompts, then `srlm eval`): `srlm run --size demo` (half of SFT's 340 EFT
# examples ordered by programs over M0's own answers, half of each iteration's 140 prompts
# instructed), then the evaluation at the sizes of the 2026-12-04 demo's report — judge quality
# of M0-M3 on 22 held-out prompts of each kind (natural, ladder, verifiable own-vs-own), the 80
# MT-Bench head-to-heads under M1, 20 prompts against the seed's reference, and instruction
# following of M0-M3 on the run's 80 held-out instructed prompts, checked by programs —, and
# judge quality of M0-M3 on every held-out verifiable prompt (40 kept, 110 ordered pairs: the
# bar's number, `report-judge/`). Every command resumes where it stopped (run the script again).
set -euo pipefail
cd "$(dirname "$0")/../../.."
srlm=${SRLM:-target/release/srlm}
out=${1:-runs/demo}
date -u
/usr/bin/time -v $srlm run --size demo --out "$out" 2>> "$out.time"
date -u
$srlm eval --run "$out" --prompts 80 --reference-prompts 20 --samples 3 --max-tokens 384 \
  --held-out-prompts 22
date -u
grep '"origin":"verifiable' "$out/data/eft-held-out.jsonl" > "$out/verifiable-held-out.jsonl"
$srlm eval --model M0=assets/SmolLM2-135M-Instruct.Q4_1.gguf --model M1="$out/M1" \
  --model M2="$out/M2" --model M3="$out/M3" --held-out "$out/verifiable-held-out.jsonl" \
  --held-out-prompts 96 --prompts 0 --reference-prompts 0 --out "$out/report-judge"
date -u
