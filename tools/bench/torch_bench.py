#!/usr/bin/env python3
"""PyTorch reference for docs/performance.md: the same shapes as srlm's harness, same CPU threads.

SmolLM2-135M-Instruct from the Q4_1 GGUF (dequantised to float32 by transformers), eager mode,
`torch.set_num_threads(N)` (default: the machine's cores, as burn's flex uses them):
- prefill: one forward over batch × 128 tokens (last-position logits), batch 1/4/8;
- decode: 32 greedy tokens after that prefill with the KV cache (no stop), batch 1/4/8;
- SFT step: batch 4 × (128 prompt + 128 response), masked CE, backward, AdamW step;
- DPO step: 4 pairs, chosen and rejected rows in one forward (2,048 tokens), summed response
  log-probs against fixed reference log-probs, sigmoid loss, backward, AdamW step.
Median of REPS after one warm-up. Prints a markdown table.

    bash scripts/fetch-model.sh && pip install torch transformers gguf
    python3 tools/bench/torch_bench.py [REPS] [THREADS]
"""
import os
import pathlib
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
PROMPT, NEW, VOCAB_CAP = 128, 32, 49152


def ids(batch, n, salt):
    return torch.tensor([[((i * 7919 + (b + salt) * 104729) % (VOCAB_CAP - 100)) + 50 for i in range(n)] for b in range(batch)])


def timed(fn):
    fn()
    out = []
    for _ in range(REPS):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main():
    torch.set_num_threads(THREADS)
    model = AutoModelForCausalLM.from_pretrained(ROOT / "assets", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", dtype=torch.float32)
    rows = []
    model.eval()
    with torch.no_grad():
        for b in (1, 4, 8):
            x = ids(b, PROMPT, 0)
            pre = timed(lambda: model(x, logits_to_keep=1))
            total = timed(lambda: model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False, pad_token_id=0))
            rows.append((f"prefill {PROMPT}", b, b * PROMPT / pre))
            rows.append((f"decode {NEW}", b, b * NEW / max(total - pre, 1e-9)))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)

    def sft():
        x = ids(4, 256, 1)
        labels = x.clone()
        labels[:, :PROMPT] = -100
        loss = model(x, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    def dpo():
        x = ids(8, 256, 2)
        logits = model(x).logits[:, PROMPT - 1:-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, x[:, PROMPT:].unsqueeze(-1)).squeeze(-1).sum(-1)
        chosen, rejected = logp[:4], logp[4:]
        loss = -F.logsigmoid(0.1 * ((chosen - chosen.detach() + 0.1) - (rejected - rejected.detach()))).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    rows.append(("SFT step 4 × 256", 4, 1024 / timed(sft)))
    rows.append(("DPO step 4 pairs × 2 × 256", 4, 2048 / timed(dpo)))
    print(f"| work | batch | PyTorch {torch.__version__} tokens/s (median of {REPS}, {THREADS} threads) |")
    print("|---|---|---|")
    for name, b, v in rows:
        print(f"| {name} | {b} | {v:.1f} |")


if __name__ == "__main__":
    main()
