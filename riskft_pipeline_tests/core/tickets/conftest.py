"""Fixtures for the ticket core tests: tiny CSV builders and the embedded default data."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from riskft_pipeline.paths import embedded_data_dir

HEADER = [
    "", "number", "type", "date", "contact_type", "short_description", "content", "category", "subcategory",
    "customer", "resolved_at", "close_notes", "agent", "reassigned_count", "resolution_time", "issue/request",
    "software/system", "output", "assignment_group", "item_id", "role", "poor_close_notes",
    "info_score_close_notes", "info_score_poor_close_notes",
]  # fmt: skip


def _ticket(number: str, **overrides: str) -> dict[str, str]:
    """One valid raw row (all strings), with fields overridden as needed."""
    row = {c: "" for c in HEADER[1:]}
    row.update(
        number=number, type="Incident", date="3/31/2021 14:13", contact_type="Email",
        short_description=f"Outlook crashes {number}", content=f"Outlook closes when I open the calendar ({number}).",
        category="SOFTWARE", subcategory="ERROR", customer="Morgan, Gregory", agent="Fortner, Lucas",
        **{"issue/request": "Outlook Crash", "software/system": "Outlook"}, assignment_group="DESKTOP SUPPORT",
    )  # fmt: skip
    row.update(overrides)
    return row


def _raw_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Rows as the reader returns them: every column present, every cell a string."""
    return pd.DataFrame(rows, columns=HEADER[1:], dtype=str).fillna("")


@pytest.fixture
def ticket() -> Callable[..., dict[str, str]]:
    """``ticket("INC1", content=...)``: one valid raw row with overrides."""
    return _ticket


@pytest.fixture
def raw_frame() -> Callable[[list[dict[str, str]]], pd.DataFrame]:
    return _raw_frame


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))


@pytest.fixture
def write_csv(tmp_path) -> Callable[..., Path]:
    """Write rows (dicts) as a ticket export with the source system's layout; returns the path."""

    def _write(rows: list[dict[str, str]], name: str = "tickets.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        with open(path, "w", encoding=encoding, newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(HEADER)
            for i, row in enumerate(rows):
                writer.writerow([str(i)] + [row.get(c, "") for c in HEADER[1:]])
        return path

    return _write


@pytest.fixture(scope="session")
def default_csv() -> Path:
    """The embedded default export (always present: the project generated it)."""
    path = embedded_data_dir() / "tickets.csv"
    assert path.is_file(), f"embedded data missing: {path}"
    return path
