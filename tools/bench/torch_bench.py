#!/usr/bin/env python3
"""PyTorch reference for `srlm bench`: the same work, shapes and token ids, the same CPU threads.

SmolLM2-135M-Instruct from the Q4_1 GGUF (dequantised to float32 by transformers), or
`random:smollm2` (its shapes with random weights, as `srlm bench --model random:smollm2`; needs no
GGUF and no `gguf` package), eager mode, float32, on `--device cpu` with
`torch.set_num_threads(N)` (default: the machine's cores, as burn's flex thread pool uses) or on
`--device cuda` (timed after `torch.cuda.synchronize()`; float32 products in FP32, PyTorch's
default, or in TF32 with `--tf32`, as srlm's cuda backend computes them; a `random:` model is drawn
on the device itself, never in host memory first):
- generation: per batch size, prefill = one forward over batch × 128 tokens (last-position
  logits); decode = 32 greedy tokens after that prefill with the KV cache (no stop), over the
  decode time alone;
- sft: batch 4 × (128 prompt + 128 response), masked CE, backward, clip, AdamW step;
- sft-eft: the same on the loop's EFT shape, batch 4 × (448 prompt + 96 response) (a judge
  prompt and its judgement);
- dpo: 4 pairs, chosen and rejected rows in one forward (2,048 tokens), summed response
  log-probs against fixed (precomputed) reference log-probs, sigmoid loss (β 0.1), backward,
  clip, AdamW step;
- dpo-ref: the same with a second copy of the model kept as the reference and run (no grad)
  inside every step.
With `--lora R` (sft, sft-eft, dpo): PEFT LoRA adapters of rank R, alpha 2R, on the seven
projections, only they trained (`pip install peft`). With `--checkpointing`: transformers'
`gradient_checkpointing_enable` (non-reentrant), one checkpoint per decoder layer. With
`--dtype bfloat16`: the model's weights and activations in bf16 (PEFT then keeps its adapters in
float32, its default `autocast_adapter_dtype`), PEFT's usual bf16 recipe and the match of srlm's
`--lora-base bf16 --lora-compute bf16`.
Median of REPS after one warm-up. Peak memory: this process's ru_maxrss (run one work per
process to get that work's peak; `srlm bench --torch` does); on cuda, also the most device memory
the caching allocator held (`torch.cuda.max_memory_reserved`: what had to fit) as
`peak_device_mib`.

    bash scripts/fetch-model.sh && pip install torch transformers gguf accelerate
    python3 tools/bench/torch_bench.py [--work generation|sft|sft-eft|dpo|dpo-ref|adamw] [--reps 3]
        [--threads N] [--batches 1,4,16] [--device cpu|cuda] [--model GGUF|random:NAME] [--json]
        [--lora R] [--checkpointing] [--dtype float32|bfloat16] [--tf32]
"""
import argparse
import copy
import json
import os
import pathlib
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROMPT, NEW, RESPONSE, BATCH = 128, 32, 128, 4
# The loop's EFT examples: a judge prompt (rubric + question + answer) and its judgement.
EFT_PROMPT, EFT_RESPONSE = 448, 96


def ids(batch, n, salt, vocab):
    """The same ids as srlm's harness (`token_ids`)."""
    return torch.tensor([[((i * 7919 + (b + salt) * 104729) % (vocab - 100)) + 50 for i in range(n)] for b in range(batch)], device=DEVICE)


DEVICE = torch.device("cpu")
NAME = "generation"


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def timed(fn, reps):
    fn()
    sync()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# srlm's `LlamaConfig::named`: (vocab, hidden, layers, heads, kv heads, MLP, tied, rope base).
SHAPES = {
    "smollm2": (49152, 576, 30, 9, 3, 1536, True, 100000.0),
    "llama-3.2-1b": (128256, 2048, 16, 32, 8, 8192, True, 500000.0),
    "llama-3.2-3b": (128256, 3072, 28, 24, 8, 8192, True, 500000.0),
    "llama-3-8b": (128256, 4096, 32, 32, 8, 14336, False, 500000.0),
    "qwen2.5-1.5b": (151936, 1536, 28, 12, 2, 8960, True, 1000000.0),
    "qwen2.5-7b": (152064, 3584, 28, 28, 4, 18944, False, 1000000.0),
}


def load(model, dtype):
    """The model on DEVICE in `dtype`; a `random:` one is drawn there."""
    if model.startswith("random:"):
        from transformers import LlamaConfig, Qwen2Config

        name = model.split(":", 1)[1]
        vocab, hidden, layers, heads, kv, ffn, tied, theta = SHAPES[name]
        family = Qwen2Config if name.startswith("qwen") else LlamaConfig
        config = family(
            vocab_size=vocab, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
            num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=8192,
            rms_norm_eps=1e-5, rope_theta=theta, tie_word_embeddings=tied,
        )
        torch.manual_seed(0)
        with DEVICE:
            return AutoModelForCausalLM.from_config(config, dtype=dtype)
    path = pathlib.Path(model)
    if not path.is_absolute():
        path = ROOT / path
    return AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=dtype).to(DEVICE)


def generation(model, vocab, batches, reps, prompt_len=PROMPT, new=NEW):
    model.eval()
    records = []
    with torch.no_grad():
        for b in batches:
            x = ids(b, prompt_len, 0, vocab)
            pre = timed(lambda: model(x, logits_to_keep=1), reps)
            total = timed(lambda: model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0), reps)
            records.append(("prefill", b, b * prompt_len / pre))
            records.append(("decode", b, b * new / max(total - pre, 1e-9)))
    return records


def rows(vocab, salt, offset, prompt_len=PROMPT, response_len=RESPONSE):
    """prompt ++ response rows as srlm's harness lays them out: prompts of rows 0..3, responses
    of rows offset..offset+3 (DPO: chosen at offset 0, rejected at offset 4, same prompts)."""
    prompt = ids(BATCH, prompt_len, salt, vocab)
    response = ids(BATCH + offset, response_len, salt + 1000, vocab)[offset:]
    return torch.cat([prompt, response], dim=1)


def with_lora(model, rank):
    """PEFT adapters of `rank` (alpha 2 · rank) on the seven projections, as `srlm bench --lora`."""
    from peft import LoraConfig, get_peft_model

    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    return get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=targets))


def training(model, vocab, work, reps):
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    reference = copy.deepcopy(model).eval() if work == "dpo-ref" else None

    def step(loss):
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    def response_logps(m, x):
        logits = m(x).logits[:, PROMPT - 1:-1].float()
        return torch.log_softmax(logits, -1).gather(-1, x[:, PROMPT:].unsqueeze(-1)).squeeze(-1).sum(-1)

    if work in ("sft", "sft-eft"):
        prompt_len, response_len = (EFT_PROMPT, EFT_RESPONSE) if work == "sft-eft" else (PROMPT, RESPONSE)
        x = rows(vocab, 1, 0, prompt_len, response_len)
        labels = x.clone()
        labels[:, :prompt_len] = -100
        seconds = timed(lambda: step(model(x, labels=labels).loss), reps)
        return [(NAME, BATCH, x.numel() / seconds)]
    x = torch.cat([rows(vocab, 2, 0), rows(vocab, 2, BATCH)])
    with torch.no_grad():
        fixed = response_logps(model, x)

    def dpo():
        logp = response_logps(model, x)
        if reference is not None:
            with torch.no_grad():
                ref = response_logps(reference, x)
        else:
            ref = fixed
        margin = (logp[:BATCH] - ref[:BATCH]) - (logp[BATCH:] - ref[BATCH:])
        step(-F.logsigmoid(0.1 * margin).mean())

    seconds = timed(dpo, reps)
    return [(NAME, BATCH, x.numel() / seconds)]


def adamw(model, reps):
    """The optimizer phase alone: clip_grad_norm_ and one AdamW step (its default implementation:
    foreach on CUDA) over the trainable parameters, random gradients; parameters per second."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-6)
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3

    def update():
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    seconds = timed(update, reps)
    return [(NAME, 1, sum(p.numel() for p in params) / seconds)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="assets/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--work", default="generation", choices=["generation", "sft", "sft-eft", "dpo", "dpo-ref", "adamw"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batches", default="1,4,16")
    parser.add_argument("--prompt-tokens", type=int, default=PROMPT, help="prompt tokens per sequence (generation)")
    parser.add_argument("--new-tokens", type=int, default=NEW, help="new tokens per sequence (generation decode)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--json", action="store_true", help="one JSON record per line, for srlm bench")
    parser.add_argument("--lora", type=int, help="training: PEFT LoRA adapters of this rank (alpha 2 · rank)")
    parser.add_argument("--checkpointing", action="store_true", help="training: gradient_checkpointing_enable() (non-reentrant)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="the model's weights and activations")
    parser.add_argument("--tf32", action="store_true", help="cuda: float32 matrix products in TF32")
    args = parser.parse_args()
    global DEVICE, NAME
    DEVICE = torch.device(args.device)
    # As srlm names its records: `+loraR` (`+loraRbf16` over a bf16 model), `+ckpt`.
    lora = f"+lora{args.lora}" + ("bf16" if args.dtype == "bfloat16" else "") if args.lora else ""
    NAME = args.work + lora + ("+ckpt" if args.checkpointing else "")
    torch.set_num_threads(args.threads)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model = load(args.model, getattr(torch, args.dtype))
    if args.checkpointing and args.work != "generation":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if args.lora and args.work != "generation":
        model = with_lora(model, args.lora)
    vocab = model.config.vocab_size
    if args.work == "adamw":
        records = adamw(model, args.reps)
    elif args.work == "generation":
        records = generation(model, vocab, [int(b) for b in args.batches.split(",")], args.reps, args.prompt_tokens, args.new_tokens)
    else:
        records = training(model, vocab, args.work, args.reps)
    peak = peak_mib()
    device_peak = torch.cuda.max_memory_reserved(DEVICE) / 1048576.0 if DEVICE.type == "cuda" else None
    if args.json:
        for work, batch, rate in records:
            record = {"work": work, "batch": batch, "tokens_per_s": rate, "peak_rss_mib": peak}
            if device_peak is not None:
                record["peak_device_mib"] = device_peak
            print(json.dumps(record))
    else:
        print(f"| work | batch | PyTorch {torch.__version__} tokens/s (median of {args.reps}, {args.threads} threads) | peak MiB |")
        print("|---|---|---|---|")
        for work, batch, rate in records:
            print(f"| {work} | {batch} | {rate:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
