"""Fixtures for the change-risk core tests: a small generated history, its split, context and tiers, and a raw-CSV
builder with the traps of the public data (index column, label copy ``__``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from riskft_pipeline.core.risk.context import HistoryStats, fit_history
from riskft_pipeline.core.risk.features import clean_changes
from riskft_pipeline.core.risk.generate import generate_changes
from riskft_pipeline.core.risk.split import TimeSplit, time_split
from riskft_pipeline.core.risk.tiers import TierDefinition, fit_tiers
from riskft_pipeline_tests.core.risk.risk_rows import NOW


@pytest.fixture
def write_csv(tmp_path) -> Callable[..., Path]:
    """Write rows as a CSV the way the public files look: an unnamed index column first and ``__`` = label."""

    def _write(rows: list[dict], name: str = "changes.csv", index: bool = True, label_copy: bool = True) -> Path:
        df = pd.DataFrame(rows)
        if label_copy and "bug" in df:
            df.insert(3, "__", df["bug"])
        path = tmp_path / name
        df.to_csv(path, index=index)
        return path

    return _write


@pytest.fixture(scope="session")
def history() -> pd.DataFrame:
    """600 generated changes, already clean (the generator's output passes validation unchanged)."""
    return clean_changes(generate_changes(rows=600, seed=3), now=NOW).clean


@pytest.fixture(scope="session")
def split(history) -> TimeSplit:
    return time_split(history)


@pytest.fixture(scope="session")
def stats(split) -> HistoryStats:
    return fit_history(split.train)


@pytest.fixture(scope="session")
def tiers(split, stats) -> TierDefinition:
    return fit_tiers(split.train, stats, quantiles=(0.5, 0.8), seed=42)
