#!/usr/bin/env bash
# The resident set of a quick LoRA loop over a bf16 base, sampled every 0.2 s beside the last
# finished stage (docs/performance.md, "The loop over a bf16 base").
# Usage: scripts/loop-memory.sh [SRLM-BINARY] [OUT]   (defaults: target/release/srlm, runs/loop-memory)
# Writes OUT/rss.txt (epoch seconds, VmRSS KiB, last finished stage) and OUT/time.txt, and
# prints the peak while M0 answers, in the iterations (from iteration 1's candidates on), and of
# the whole run (MB).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/srlm}
out=${2:-runs/loop-memory}
rm -rf "$out"
mkdir -p "$out"
/usr/bin/time -v "$bin" run --quick --lora 8 --set sft.lora.base_dtype=bf16 \
  --set dpo.train.lora.base_dtype=bf16 --out "$out/run" > "$out/stdout" 2> "$out/time.txt" &
timer=$!
sleep 1
pid=$(pgrep -P "$timer" | head -1)
while kill -0 "$pid" 2> /dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
  stage=$(tail -n1 "$out/run/metrics.jsonl" 2> /dev/null | grep -o '"stage":"[a-z-]*"' | head -1 || true)
  echo "$(date +%s.%N) ${rss:-0} ${stage:-none}" >> "$out/rss.txt"
  sleep 0.2
done
wait "$timer"
# Stages are labelled by the last one finished: "instruct" onwards is iteration 1's candidates on.
awk '$3 ~ /none|seed-answers|verifiable-answers/ {if ($2 > a) a = $2}
     $3 ~ /instruct|candidates|judge|pairs|dpo/ {if ($2 > b) b = $2}
     {if ($2 > c) c = $2}
     END {printf "while M0 answers %.0f MB, iterations (from the first candidates) %.0f MB, run %.0f MB\n", a / 1024, b / 1024, c / 1024}' \
  "$out/rss.txt"
