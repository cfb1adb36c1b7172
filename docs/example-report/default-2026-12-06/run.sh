#!/usr/bin/env bash
# The embedded default of 2026-12-06 (verifiable EFT at half the EFT examples, half of each
# iteration's prompts instructed), then its evaluation, sized to a session's time: judge
# quality of M1-M3 on the run's held-out verifiable own-vs-own sets (M0 parses none of its
# verdicts there: docs/verifiable-report/), then the run report itself: instruction following
# of M0-M3 on the run's 64 held-out instructed prompts, the self-reward check, lengths and DPO.
set -euo pipefail
cd "$(dirname "$0")/../../.."
srlm=target/release/srlm
out=${1:-runs/default-v}
date -u
/usr/bin/time -v $srlm run --out "$out" 2> "$out.time"
date -u
# The held-out verifiable sets alone (the natural and ladder sets are the demo report's).
grep '"origin":"verifiable' "$out/data/eft-held-out.jsonl" > "$out/verifiable-held-out.jsonl"
$srlm eval --no-baseline --model M1="$out/M1" --model M2="$out/M2" --model M3="$out/M3" \
  --held-out "$out/verifiable-held-out.jsonl" --held-out-prompts 64 \
  --prompts 0 --reference-prompts 0 --out "$out/report-judge"
date -u
$srlm eval --run "$out" --held-out-prompts 0 --prompts 0 --reference-prompts 0 \
  --max-tokens 256 --out "$out/report"
date -u
