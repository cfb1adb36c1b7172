#!/usr/bin/env bash
# The embedded default of 2026-12-06 (verifiable EFT at half the EFT examples, half of each
# iteration's prompts instructed), then its evaluation: judge quality on held-out natural,
# ladder and verifiable own-vs-own sets, and instruction following on the run's held-out
# instructed prompts (data/instructed-eval.jsonl), M0-M3, no head-to-heads.
set -euo pipefail
cd "$(dirname "$0")/../../.."
srlm=target/release/srlm
out=${1:-runs/default-v}
date -u
/usr/bin/time -v $srlm run --out "$out" 2> "$out.time"
date -u
$srlm eval --run "$out" --prompts 0 --reference-prompts 0 --held-out-prompts 32 --out "$out/report"
date -u
