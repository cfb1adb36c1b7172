#!/usr/bin/env bash
# The same judge training as run.sh's largest set, over instructions whose evidence is a
# presence rather than a count: the nine counting kinds (words, paragraphs, bullets, highlighted
# sections, placeholders, sections, keyword and letter frequency, a paragraph's first word) are
# left out of the drawn instructions. Does a 135M judge learn to order its own answers when
# the decision needs no counting? Run after run.sh (it reuses runs/eft-size/ift.jsonl).
set -euo pipefail
cd "$(dirname "$0")/../.."
srlm=target/release/srlm
m0=assets/SmolLM2-135M-Instruct.Q4_1.gguf
d=runs/eft-size
p=$d/presence
mkdir -p "$p"
counting=detectable_content:number_placeholders,detectable_format:multiple_sections
counting=$counting,detectable_format:number_bullet_lists,detectable_format:number_highlighted_sections
counting=$counting,keywords:frequency,keywords:letter_frequency,length_constraints:number_paragraphs
counting=$counting,length_constraints:number_words,length_constraints:nth_paragraph_first_word
date
[[ -f $p/instructed.jsonl ]] || $srlm data instruct --tasks "$d/ift.jsonl" --out "$p/instructed.jsonl" \
  --count 240 --max-task-words 40 --min-words 20 --max-words 120 --seed 3 --exclude-kinds "$counting"
[[ -f $p/eft/eft-train.jsonl ]] || /usr/bin/time -v $srlm data build-eft verifiable --model $m0 \
  --instructed "$p/instructed.jsonl" --out-dir "$p/eft" --answers 4 --held-out 0.3 --max-new-tokens 256 \
  2> "$p/eft.time"
date
[[ -f $p/m1/model.safetensors ]] || /usr/bin/time -v $srlm sft --model $m0 --data "$p/eft/eft-train.jsonl" \
  --out "$p/m1" --max-len 1024 --batch-size 8 --lr 1e-4 --final-lr 2e-5 --dropout 0 --epochs 1 2> "$p/sft.time"
date
$srlm eval --model "P=$p/m1" --no-baseline --held-out "$p/eft/eft-held-out.jsonl" --held-out-prompts 1000 \
  --prompts 0 --reference-prompts 0 --out "$p/eval-held-out"
date
$srlm eval --model "P=$p/m1" --no-baseline --held-out "$p/eft/eft-train.jsonl" --held-out-prompts 1000 \
  --prompts 0 --reference-prompts 0 --out "$p/eval-train"
date
