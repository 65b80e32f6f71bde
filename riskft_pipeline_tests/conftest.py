"""Suite-wide isolation: the tests never read or write the developer's ``.riskft/`` and never touch the network.

``RISKFT_HOME`` points at one temporary folder for the whole session (so the offline base model is converted once
and shared by every test that needs it); tests that need a private home monkeypatch it again.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import pytest

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="riskft-test-home-"))


def pytest_configure(config):
    os.environ["RISKFT_HOME"] = str(_SESSION_HOME)
    os.environ["DAGSTER_HOME"] = str(_SESSION_HOME / "dagster")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("RISKFT_TRACKING_URI", None)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # idle OpenMP threads sleep instead of spinning: under any CPU contention, spinning made torch 5-6x slower
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def session_home() -> Path:
    """The suite's shared RISKFT_HOME (holds the converted base model cache)."""
    return _SESSION_HOME


def pytest_unconfigure(config):
    import shutil

    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


def head_csv(src: Path, dest: Path, n: int) -> None:
    """The header and the first ``n`` records of ``src`` written to ``dest`` (an export before newer rows arrived)."""
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with open(dest, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows[: n + 1])


@pytest.fixture
def one_thread():
    """Latency-bound generation on a shared 2-core machine: one intra-op thread is much faster."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
