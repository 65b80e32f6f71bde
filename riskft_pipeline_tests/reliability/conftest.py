"""Fixtures for the reliability tests: a private home per test, and the offline tokenizer (converted once per
session into the suite's shared home, like the training tests do)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session")
def offline_tokenizer(session_home: Path):
    """The offline base model's tokenizer (SmolLM2, ChatML special tokens), resolved in the suite's shared home so
    the one-time GGUF conversion is shared with the training tests."""
    from riskft_pipeline.core.config import BaseModelConfig
    from riskft_pipeline.training.base_model import load_tokenizer, resolve_base

    previous = os.environ.get("RISKFT_HOME")
    os.environ["RISKFT_HOME"] = str(session_home)
    try:
        return load_tokenizer(resolve_base(BaseModelConfig()).path)
    finally:
        if previous is None:
            os.environ.pop("RISKFT_HOME", None)
        else:
            os.environ["RISKFT_HOME"] = previous
