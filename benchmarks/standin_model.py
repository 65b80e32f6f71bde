"""A same-shape stand-in for a base model whose weights cannot reach the machine (the GPU device has no model hub and
only ~64 MiB travels with a call): the architecture of Qwen2.5-3B-Instruct, written out below from its public
``config.json``, with seeded random bf16 weights and the tokenizer of a local folder (the offline base's).

Throughput, memory and MFU depend on the shapes, not on the values of the weights, so the stand-in measures the GPU
recipe's speed honestly; it says nothing about quality, and the folder's ``STANDIN.txt`` says so. Token ids of the
borrowed tokenizer (49,152 entries) all fall inside Qwen's 151,936-row embedding, so every example trains; the token
counts per example differ from Qwen's tokenizer by a few percent.

    python benchmarks/standin_model.py --tokenizer-from FOLDER --out /tmp/qwen2.5-3b-standin
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

# Qwen/Qwen2.5-3B-Instruct config.json (architecture fields).
QWEN25_3B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_act": "silu",
    "hidden_size": 2048,
    "intermediate_size": 11008,
    "num_hidden_layers": 36,
    "num_attention_heads": 16,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "max_window_layers": 70,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "use_sliding_window": False,
    "tie_word_embeddings": True,
    "vocab_size": 151936,
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "generation_config.json")


def build(tokenizer_from: Path, out: Path, *, seed: int = 0, device: str = "cuda") -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_from)
    cfg = AutoConfig.for_model(**QWEN25_3B)
    cfg.bos_token_id = tok.bos_token_id
    cfg.eos_token_id = tok.eos_token_id
    cfg.pad_token_id = tok.pad_token_id
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    n_params = sum(p.numel() for p in model.parameters())
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    for name in TOKENIZER_FILES:  # anything the tokenizer save did not rewrite (chat template, generation config)
        src = tokenizer_from / name
        if src.is_file() and not (out / name).exists():
            shutil.copy2(src, out / name)
    (out / "STANDIN.txt").write_text(
        "Random-weight stand-in with the architecture of Qwen/Qwen2.5-3B-Instruct and the tokenizer of "
        f"{tokenizer_from.name}; {n_params:,} parameters, seed {seed}. For speed and memory measurements only.\n")
    print(json.dumps({"out": str(out), "parameters": n_params}))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokenizer-from", required=True, type=Path, help="a local HF folder with a chat tokenizer")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda", help="where to initialise the weights (cuda is ~50x faster)")
    args = p.parse_args(argv)
    build(args.tokenizer_from, args.out, seed=args.seed, device=args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
