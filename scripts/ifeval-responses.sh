#!/usr/bin/env bash
# SmolLM2-135M-Instruct answers the instructed prompts of tests/fixtures/ifeval/prompts.jsonl
# (written by tools/fixtures/ifeval_checks.py prompts): once greedy, once sampled (temperature
# 0.7, top-p 0.9, the loop's candidate settings), up to 256 new tokens each, into
# tests/fixtures/ifeval/responses.jsonl. Google's checkers then label them
# (tools/fixtures/ifeval_checks.py label). Needs the release build and the model
# (scripts/fetch-model.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

model=assets/SmolLM2-135M-Instruct.Q4_1.gguf
srlm=target/release/srlm
in=tests/fixtures/ifeval/prompts.jsonl
out=tests/fixtures/ifeval/responses.jsonl
[[ -x "$srlm" ]] || { echo "error: $srlm missing: cargo build --release -p srlm-cli" >&2; exit 1; }
[[ -f "$model" ]] || { echo "error: $model missing: bash scripts/fetch-model.sh" >&2; exit 1; }

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r row; do
  key=$(jq -r .key <<<"$row")
  prompt=$(jq -r .prompt <<<"$row")
  samplings=(greedy)
  (( key % 3 == 0 )) && samplings+=(sampled)
  for sampling in "${samplings[@]}"; do
    if [[ $sampling == greedy ]]; then args=(--temperature 0); else args=(--temperature 0.7 --top-p 0.9 --seed "$key"); fi
    "$srlm" generate --model "$model" --prompt "$prompt" --max-new-tokens 160 "${args[@]}" --format json \
      | jq -c --argjson key "$key" --arg s "$sampling" '{key: $key, sampling: $s, response: .text}' >>"$tmp"
  done
done <"$in"
mv "$tmp" "$out"
trap - EXIT
echo "$(wc -l <"$out") responses -> $out"
