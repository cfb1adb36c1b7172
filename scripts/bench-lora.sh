#!/usr/bin/env bash
# LoRA and layer checkpointing against full fine-tuning (docs/performance.md, issue 39).
#
#   bash scripts/bench-lora.sh steps    # SmolLM2 DPO and SFT steps: full, LoRA 16, LoRA 16 +
#                                       # checkpointing, full + checkpointing; PyTorch + PEFT beside
#   bash scripts/bench-lora.sh shapes   # peak memory of one SFT / DPO step at Llama-3.2-1B and -3B
#                                       # shapes (random weights): full against LoRA + checkpointing
#   bash scripts/bench-lora.sh plan     # `srlm plan`'s peak beside each measured one (SmolLM2 in
#                                       # every setting, 1B, 3B, Qwen2.5-1.5B): docs/performance.md
#   bash scripts/bench-lora.sh bf16     # LoRA 16 + checkpointing over an f32 base against a bf16
#                                       # base (SmolLM2, 1B, 3B; SFT and DPO), alternated
#   bash scripts/bench-lora.sh 8b       # one SFT and one DPO step at the Llama-3-8B shape: LoRA 16
#                                       # + checkpointing over a bf16 base (drawn tensor by tensor)
#
# Needs target/release/srlm (cargo build --release -p srlm-cli), the SmolLM2 GGUF
# (scripts/fetch-model.sh) and, for `steps`, PYTHON pointing at a python with torch,
# transformers, gguf and peft. Writes runs/bench-lora/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/bench-lora
mkdir -p "$out"
srlm=target/release/srlm

steps() {
  local name=$1
  shift
  "$srlm" bench --work dpo,sft --torch --reps 3 "$@" --json "$out/$name.jsonl" | tee "$out/$name.txt"
}

shape() {
  local name=$1
  shift
  "$srlm" bench --reps 1 "$@" --json "$out/shape-$name.jsonl" | tee "$out/shape-$name.txt"
}

case "${1:-steps}" in
steps)
  steps full
  steps lora --lora 16
  steps lora-ckpt --lora 16 --checkpointing
  steps full-ckpt --checkpointing
  ;;
shapes)
  # Full f32 fine-tuning of 1B peaks at the limit of a 24 GiB machine; its DPO step (a second
  # copy as the reference) does not fit, nor does anything full at 3B.
  shape 1b-full-sft --model random:llama-3.2-1b --work sft
  shape 1b-lora-sft --model random:llama-3.2-1b --work sft --lora 16 --checkpointing
  shape 3b-lora-sft --model random:llama-3.2-3b --work sft --lora 16 --checkpointing
  shape 3b-lora-dpo --model random:llama-3.2-3b --work dpo --lora 16 --checkpointing
  ;;
plan)
  # Each peak in its own process, the plan printed beside it (`plan …` in the peak column).
  for work in sft dpo; do
    shape "smollm2-$work" --work "$work"
    shape "smollm2-$work-ckpt" --work "$work" --checkpointing
    shape "smollm2-$work-lora" --work "$work" --lora 16
    shape "smollm2-$work-lora-ckpt" --work "$work" --lora 16 --checkpointing
  done
  shape smollm2-sft-eft --work sft-eft
  shape smollm2-sft-eft-lora-ckpt --work sft-eft --lora 16 --checkpointing
  shape 1b-lora-sft-plain --model random:llama-3.2-1b --work sft --lora 16
  shape 1b-lora-sft --model random:llama-3.2-1b --work sft --lora 16 --checkpointing
  shape 1b-lora-dpo --model random:llama-3.2-1b --work dpo --lora 16 --checkpointing
  shape 3b-lora-sft --model random:llama-3.2-3b --work sft --lora 16 --checkpointing
  shape 3b-lora-dpo --model random:llama-3.2-3b --work dpo --lora 16 --checkpointing
  shape qwen-1.5b-lora-sft --model random:qwen2.5-1.5b --work sft --lora 16 --checkpointing
  shape 1b-full-sft --model random:llama-3.2-1b --work sft
  ;;
bf16)
  # Peaks from the loaded (and cast) model on; the loading's own peak is `load_peak_mib`.
  for model in smollm2 llama-3.2-1b llama-3.2-3b; do
    for work in sft dpo; do
      for base in f32 bf16; do
        shape "$model-$work-lora-ckpt-$base" --model "random:$model" --work "$work" \
          --lora 16 --lora-base "$base" --checkpointing
      done
    done
  done
  ;;
8b)
  # The random weights are drawn and cast one tensor at a time: the f32 model (32 GB) is never
  # held. Each step takes minutes on two cores.
  for work in sft dpo; do
    shape "8b-$work-lora-ckpt-bf16" --model random:llama-3-8b --work "$work" \
      --lora 16 --lora-base bf16 --checkpointing
  done
  ;;
*)
  echo "usage: $0 steps|shapes|plan|bf16|8b" >&2
  exit 2
  ;;
esac
