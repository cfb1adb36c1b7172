#!/usr/bin/env bash
# kill -9 at random points of a quick run, then check that the run, resumed each time, ends
# byte-identical to an uninterrupted one; and that a second `srlm run` on a folder in use is
# refused at once, naming the holder's PID.
#
#   scripts/kill-resume-check.sh [KILLS] [WORK]     (defaults: 12, runs/kill-check)
#
# Needs `target/release/srlm` (cargo build --release -p srlm-cli), the model in assets/ and jq.
# Compared byte for byte: every file of the run folder except what records wall time
# (run.log, summaries/, clock/, metrics.jsonl, the trainers' metrics.jsonl) and the lock file;
# the metrics are compared with their time fields (and the steps of each invocation) removed.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-12}
work=${2:-runs/kill-check}
srlm=target/release/srlm
[ -x "$srlm" ] || { echo "build it first: cargo build --release -p srlm-cli" >&2; exit 2; }
RANDOM=41   # the kill points are the same on every machine's bash

ref="$work/reference"
run="$work/killed"
mkdir -p "$work"
rm -rf "$run" "$work/killed.log"
# The uninterrupted run is kept between calls (delete WORK to redo it).
if [ ! -f "$work/reference.seconds" ]; then
  rm -rf "$ref"
  t0=$(date +%s.%N)
  "$srlm" run --quick --out "$ref" >"$work/reference.log" 2>&1
  echo "$(date +%s.%N) - $t0" | bc >"$work/reference.seconds"
fi
total=$(cat "$work/reference.seconds")
echo "uninterrupted quick run: ${total} s"

# Each invocation is killed after a delay drawn uniformly from [2, 2·total/kills] seconds, so
# the kills spread over the whole run; an invocation that finished no stage adds half a window
# to the next one's delay (a stage with no checkpoint inside, SFT at this size, must be outlived
# once), and after the last kill the run is left to finish.
window=$(echo "2 * $total / $kills" | bc)
killed=0
refused=0
extra=0
before=0
log="$work/kills.tsv"
printf 'invocation\tkilled_after_s\tstages_finished\n' >"$log"
while [ "$killed" -lt "$kills" ]; do
  delay=$(echo "scale=2; 2 + ($window - 2) * $RANDOM / 32767 + $extra" | bc)
  "$srlm" run --quick --out "$run" >>"$work/killed.log" 2>&1 &
  pid=$!
  sleep "$delay"
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || { echo "the run failed on its own (see $work/killed.log)" >&2; exit 1; }
    echo "the run finished before kill $((killed + 1)); kills so far: $killed"
    break
  fi
  if [ "$refused" = 0 ] && [ -f "$run/config.toml" ]; then
    # A second process on the folder is refused at once and names the first.
    t1=$(date +%s.%N)
    if "$srlm" run --quick --out "$run" >"$work/second.log" 2>&1; then
      echo "a second run on a folder in use was accepted" >&2; kill -9 "$pid"; exit 1
    fi
    took=$(echo "$(date +%s.%N) - $t1" | bc)
    grep -q "in use by another process (PID $pid)" "$work/second.log" \
      || { echo "the refusal does not name PID $pid:" >&2; cat "$work/second.log" >&2; kill -9 "$pid"; exit 1; }
    echo "second run refused in ${took} s: $(grep -o 'is in use[^;]*' "$work/second.log" | head -1)"
    refused=1
  fi
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  killed=$((killed + 1))
  finished=$({ ls "$run/summaries" 2>/dev/null || true; } | wc -l)
  printf '%s\t%s\t%s\n' "$killed" "$delay" "$finished" >>"$log"
  if [ "$finished" = "$before" ]; then extra=$(echo "$extra + $window / 2" | bc); else extra=0; fi
  before=$finished
done
"$srlm" run --quick --out "$run" >>"$work/killed.log" 2>&1
echo "killed $killed times (points in $log), then finished"

digest() {
  (cd "$1" && find . -type f ! -name run.log ! -name .lock ! -name metrics.jsonl \
      ! -path './summaries/*' ! -path './clock/*' -print0 | sort -z | xargs -0 sha256sum)
}
untimed() {
  (cd "$1" && find . -name metrics.jsonl -print0 | sort -z | while IFS= read -r -d '' f; do
    echo "$f"
    jq -c 'walk(if type == "object" then del(.wall_s, .resumed, .tokens_per_second, .time, .steps_this_invocation) else . end)' "$f"
  done)
}
if diff <(digest "$ref") <(digest "$run") >"$work/diff.txt" \
  && diff <(untimed "$ref") <(untimed "$run") >>"$work/diff.txt"; then
  echo "identical: $(digest "$ref" | wc -l) files byte for byte, every metrics.jsonl but its times"
else
  echo "the resumed run differs from the uninterrupted one:" >&2
  cat "$work/diff.txt" >&2
  exit 1
fi
