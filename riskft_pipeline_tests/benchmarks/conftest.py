"""The benchmark scripts live in ``benchmarks/`` (scripts, not a package): make their shared module importable, and
give every run a private output folder so the tests never append to the user's ``benchmarks/out/``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


@pytest.fixture()
def bench_out(tmp_path, monkeypatch) -> Path:
    out = tmp_path / "bench-out"
    monkeypatch.setenv("RISKFT_BENCH_OUT", str(out))
    return out
