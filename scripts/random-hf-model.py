"""A Hugging Face folder with random bf16 weights in a Llama shape, to measure loading from a
file at a size no committed fixture has (docs/performance.md, "Loading over a bf16 base").

    PYTHON=.serve/venv/bin/python  # torch and safetensors
    $PYTHON scripts/random-hf-model.py llama-3.2-1b runs/random-llama-3.2-1b

The shapes are srlm's `LlamaConfig::named` ones (the Llama ones); the tokenizer is the tiny
Llama fixture's (320 tokens, fewer than the vocabulary: srlm warns and loads). Writes about 2
bytes a parameter.
"""

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

# The `random:` shapes, as the parameter-count fixture lists them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools" / "fixtures"))
from parameter_counts import SHAPES, config_fields  # noqa: E402


def main() -> None:
    name, out = sys.argv[1], Path(sys.argv[2])
    if name not in SHAPES or name.startswith("qwen"):
        sys.exit(f"{name}: expected one of the Llama shapes of tools/fixtures/parameter_counts.py")
    vocab, hidden, ffn, layers, heads, kv, tied = SHAPES[name]
    head_dim = hidden // heads
    out.mkdir(parents=True, exist_ok=True)
    fixture = Path(__file__).resolve().parent.parent / "tests/fixtures/tiny-llama3"
    for file in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(fixture / file, out / file)
    config = json.loads((fixture / "config.json").read_text())
    config.update(
        config_fields(name),
        head_dim=head_dim,
        max_position_embeddings=8192,
        rope_theta=500000.0,
        dtype="bfloat16",
    )
    # The fixture's llama3 rope scaling is sized for 16 positions: plain rope here.
    config.pop("rope_parameters", None)
    config.pop("rope_scaling", None)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    gen = torch.Generator().manual_seed(0)

    def normal(*shape):
        return (torch.randn(*shape, generator=gen) * 0.02).to(torch.bfloat16)

    tensors = {"model.embed_tokens.weight": normal(vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors[p + "self_attn.q_proj.weight"] = normal(heads * head_dim, hidden)
        tensors[p + "self_attn.k_proj.weight"] = normal(kv * head_dim, hidden)
        tensors[p + "self_attn.v_proj.weight"] = normal(kv * head_dim, hidden)
        tensors[p + "self_attn.o_proj.weight"] = normal(hidden, heads * head_dim)
        tensors[p + "mlp.gate_proj.weight"] = normal(ffn, hidden)
        tensors[p + "mlp.up_proj.weight"] = normal(ffn, hidden)
        tensors[p + "mlp.down_proj.weight"] = normal(hidden, ffn)
        tensors[p + "input_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
        tensors[p + "post_attention_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
    tensors["model.norm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
    if not tied:
        tensors["lm_head.weight"] = normal(vocab, hidden)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    print(out)


if __name__ == "__main__":
    main()
