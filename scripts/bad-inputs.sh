#!/usr/bin/env bash
# The bad-input census: every command given input a careful, hostile user would try (issue 41's
# reproductions and more), each classified by what srlm did:
#   error   — refused: exit 1 with a message naming what is wrong (the expected outcome);
#   handled — accepted, and said so on stderr (a warning: records dropped and counted);
#   panic   — exit 101 or a Rust panic message (a defect);
#   silent  — exit 0 with no word (a defect, unless the case is meant to be accepted).
#
#   scripts/bad-inputs.sh        (needs target/release/srlm and jq; writes under a temp folder)
#
# Prints one line per case and the counts; exits 1 if any case panicked or passed silently.
set -uo pipefail
cd "$(dirname "$0")/.."
srlm=$PWD/target/release/srlm
[ -x "$srlm" ] || { echo "build it first: cargo build --release -p srlm-cli" >&2; exit 2; }
T=$PWD/tests/fixtures/tiny-llama3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# Inputs.
printf '{"prompt": "a", "response": "b"}\n{"prompt": "c", "response": "d"}\n' >"$W/ift.jsonl"
printf '{"prompt": "2+2?", "chosen": "4", "rejected": "5"}\n{"prompt": "3+3?", "chosen": "6", "rejected": "7"}\n' >"$W/prefs.jsonl"
printf '{"prompt": "2+2?", "chosen": "4", "rejected": "4"}\n' >"$W/same-pair.jsonl"
printf '{"prompt": "q", "response": "r"}\n' >"$W/judge-in.jsonl"
printf 'not toml [[[\n' >"$W/bad.toml"
printf '[candidates]\nn = "four"\n' >"$W/typed.toml"
copy() { mkdir -p "$W/$1" && cp "$T"/* "$W/$1/"; }
copy huge-positions
sed -i 's/"max_position_embeddings": 128/"max_position_embeddings": 1099511627776/' "$W/huge-positions/config.json"
copy escaping-index
mv "$W/escaping-index/model-00002-of-00005.safetensors" "$W/"
sed -i 's/"model-00002-of-00005/"..\/model-00002-of-00005/' "$W/escaping-index/model.safetensors.index.json"
copy other-tokenizer
jq -c '.model.vocab["Ġ"] as $s | .model.vocab["!"] as $b | .model.vocab["Ġ"] = $b | .model.vocab["!"] = $s' \
  "$T/tokenizer.json" >"$W/other-tokenizer/tokenizer.json"
copy nan-weights
# A GGUF whose one tensor claims 2^62 values.
{
  printf 'GGUF'; printf '\x03\x00\x00\x00'; printf '\x01\x00\x00\x00\x00\x00\x00\x00'
  printf '\x00\x00\x00\x00\x00\x00\x00\x00'
  printf '\x13\x00\x00\x00\x00\x00\x00\x00blk.0.attn_q.weight'
  printf '\x01\x00\x00\x00'; printf '\x00\x00\x00\x00\x00\x00\x00\x40'
  printf '\x00\x00\x00\x00'; printf '\x00\x00\x00\x00\x00\x00\x00\x00'
  head -c 64 /dev/zero
} >"$W/huge-tensor.gguf"
head -c 300 /dev/urandom >"$W/garbage.gguf"
# SFT data: one record of 5 MB beside a normal one.
{ printf '{"prompt": "a", "response": "'; head -c 5000000 /dev/zero | tr '\0' 'x'; printf '"}\n'
  printf '{"prompt": "c", "response": "d"}\n'; } >"$W/big-record.jsonl"

declare -A count=([error]=0 [handled]=0 [panic]=0 [silent]=0)
defects=0
n=0
# case EXPECT NAME ARGS...: EXPECT is error (must be refused) or handled (accepted with a word).
case_() {
  local expect=$1 name=$2
  shift 2
  n=$((n + 1))
  local out rc
  out=$(cd "$W" && timeout 120 "$srlm" "$@" 2>&1 </dev/null)
  rc=$?
  local got
  if [ $rc = 101 ] || grep -q "panicked" <<<"$out"; then
    got=panic
  elif [ $rc = 0 ]; then
    if grep -qiE "warn|dropped|skipp" <<<"$out"; then got=handled; else got=silent; fi
  else
    got=error
  fi
  count[$got]=$((count[$got] + 1))
  local mark=ok
  if [ "$got" = panic ] || { [ "$got" = silent ] && [ "$expect" != silent ]; } \
    || { [ "$expect" = error ] && [ "$got" != error ]; }; then
    mark=DEFECT
    defects=$((defects + 1))
  fi
  printf '%-6s %-8s %-44s %s\n' "$mark" "$got" "$name" \
    "$({ grep -m1 -E '^Error|^error|ERROR' <<<"$out" || grep -m1 -iE 'warn' <<<"$out"; } | tr -d '\033' | cut -c1-150)"
}

P=(run --quick --print-config --set)
case_ error "run: sft.max_grad_norm=-1" "${P[@]}" sft.max_grad_norm=-1
case_ error "run: sft.max_grad_norm=0" "${P[@]}" sft.max_grad_norm=0
case_ error "run: dpo.loss.beta=-1" "${P[@]}" dpo.loss.beta=-1
case_ error "run: judge.score_pattern=(" "${P[@]}" 'judge.score_pattern="("'
case_ error "run: judge.score_pattern without group" "${P[@]}" 'judge.score_pattern="Score"'
case_ error "run: candidates.temperature=nan" "${P[@]}" candidates.temperature=nan
case_ error "run: candidates.top_p=0" "${P[@]}" candidates.top_p=0
case_ error "run: candidates.n=1" "${P[@]}" candidates.n=1
case_ error "run: sft.peak_lr=nan" "${P[@]}" sft.peak_lr=nan
case_ error "run: sft.dropout=1" "${P[@]}" sft.dropout=1
case_ error "run: pairs.length_margin=-1" "${P[@]}" pairs.length_margin=-1
case_ error "run: run.iterations=-1" "${P[@]}" run.iterations=-1
case_ error "run: data.verifiable.share=1.5" "${P[@]}" data.verifiable.share=1.5
case_ error "run: instruct.instructed_share=2" "${P[@]}" instruct.instructed_share=2
case_ error "run: judge.samples=0" "${P[@]}" judge.samples=0
case_ error "run: unknown key" "${P[@]}" nosuch.key=1
case_ error "run: value of the wrong type" "${P[@]}" candidates.n=four
case_ error "run: --config missing" run --quick --print-config --config "$W/none.toml"
case_ error "run: --config not TOML" run --quick --print-config --config "$W/bad.toml"
case_ error "run: --config wrong type" run --quick --print-config --config "$W/typed.toml"
case_ error "run: unreachable server" run --quick --out "$W/r1" --set candidates.generator.kind='"openai"' \
  --set 'candidates.generator.base_url="http://127.0.0.1:1"' --set 'candidates.generator.model="m"' \
  --set http.max_attempts=1
case_ error "run: API key variable unset" run --quick --out "$W/r2" --set candidates.generator.kind='"openai"' \
  --set 'candidates.generator.base_url="http://127.0.0.1:1"' --set 'candidates.generator.model="m"' \
  --set 'http.api_key_env="SRLM_UNSET_KEY_VAR"'
case_ error "run: --abort-after malformed" run --quick --out "$W/r3" --abort-after x
case_ error "generate: --model missing" generate --model "$W/none" --prompt hi
case_ error "generate: --model /dev/null" generate --model /dev/null --prompt hi
case_ error "generate: garbage GGUF" generate --model "$W/garbage.gguf" --prompt hi
case_ error "generate: GGUF tensor of 2^62 values" generate --model "$W/huge-tensor.gguf" --prompt hi
case_ error "generate: max_position_embeddings 2^40" generate --model "$W/huge-positions" --prompt hi
case_ error "generate: weights index leaving its folder" generate --model "$W/escaping-index" --prompt hi
case_ error "generate: empty prompt" generate --model "$T" --prompt ""
case_ error "generate: --top-p 0" generate --model "$T" --prompt hi --top-p 0
case_ error "generate: --temperature nan" generate --model "$T" --prompt hi --temperature nan
case_ error "generate: --max-new-tokens 0" generate --model "$T" --prompt hi --max-new-tokens 0
case_ error "--device quantum" --device quantum tokenize --model "$T" --text x
case_ error "judge: --samples 0" judge --model "$T" --input "$W/judge-in.jsonl" --samples 0
case_ error "judge: --max-new-tokens 0" judge --model "$T" --input "$W/judge-in.jsonl" --max-new-tokens 0
case_ error "judge: --score-pattern (" judge --model "$T" --input "$W/judge-in.jsonl" --score-pattern "("
case_ error "sft: --max-grad-norm -1" sft --model "$T" --data "$W/ift.jsonl" --out "$W/s1" --max-grad-norm=-1
case_ error "sft: --max-grad-norm 0" sft --model "$T" --data "$W/ift.jsonl" --out "$W/s2" --max-grad-norm 0
case_ error "sft: --lr 1e30 (a NaN model)" sft --model "$T" --data "$W/ift.jsonl" --out "$W/s3" --lr 1e30 --epochs 3 --batch-size 1
case_ error "sft: --dropout 1" sft --model "$T" --data "$W/ift.jsonl" --out "$W/s4" --dropout 1
case_ error "sft: --data missing" sft --model "$T" --data "$W/none.jsonl" --out "$W/s5"
case_ handled "sft: a 5 MB record" sft --model "$T" --data "$W/big-record.jsonl" --out "$W/s6" --max-steps 1
case_ error "dpo: --rpo-alpha -1" dpo --model "$T" --reference "$T" --data "$W/prefs.jsonl" --out "$W/d1" --rpo-alpha=-1
case_ error "dpo: --beta -1" dpo --model "$T" --reference "$T" --data "$W/prefs.jsonl" --out "$W/d2" --beta=-1
case_ error "dpo: sigmoid without --reference" dpo --model "$T" --data "$W/prefs.jsonl" --out "$W/d3"
case_ error "dpo: reference with another tokenizer" dpo --model "$T" --reference "$W/other-tokenizer" --data "$W/prefs.jsonl" --out "$W/d4"
case_ error "dpo: chosen == rejected" dpo --model "$T" --reference "$T" --data "$W/same-pair.jsonl" --out "$W/d5"
"$srlm" dpo --model "$T" --reference "$T" --data "$W/prefs.jsonl" --out "$W/d6" --batch-size 1 --checkpoint-every 1 --max-steps 1 >/dev/null 2>&1
# The same settings but the objective's: a finished folder rerun as SimPO, or with another beta.
case_ error "dpo: rerun as SimPO" dpo --model "$T" --data "$W/prefs.jsonl" --out "$W/d6" --batch-size 1 --checkpoint-every 1 --max-steps 1 --loss simpo --beta 50
case_ error "dpo: rerun with another --beta" dpo --model "$T" --reference "$T" --data "$W/prefs.jsonl" --out "$W/d6" --batch-size 1 --checkpoint-every 1 --max-steps 1 --beta 0.5
case_ error "data split: one path for both outputs" data split "$W/ift.jsonl" --train "$W/x.jsonl" --held-out "$W/x.jsonl"
case_ error "data split: --fraction 2" data split "$W/ift.jsonl" --train "$W/t.jsonl" --held-out "$W/h.jsonl" --fraction 2
case_ error "data inspect: /dev/zero" data inspect /dev/zero
case_ error "data inspect: garbage" data inspect "$W/garbage.gguf"
case_ error "eval: duplicate model names" eval --model "A=$T" --model "A=$T" --out "$W/e1"
case_ error "eval: --samples 0" eval --model "A=$T" --samples 0 --out "$W/e2"
case_ error "eval: --judge nosuch" eval --model "A=$T" --model "B=$T" --judge nosuch --eval-prompts "$PWD/tests/fixtures/data/mt_bench.jsonl" --prompts 1 --out "$W/e3"
case_ error "eval: --model without NAME=" eval --model nopath --out "$W/e4"
case_ error "eval: --run not a run folder" eval --run "$W" --out "$W/e5"

printf '\n%d bad inputs: %d refused with an error, %d accepted with a warning, %d panics, %d silent; %d defects\n' \
  "$n" "${count[error]}" "${count[handled]}" "${count[panic]}" "${count[silent]}" "$defects"
[ "$defects" = 0 ]
