"""Row builders shared by the change-risk tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskft_pipeline.paths import shared_data_dir

NOW = 1_900_000_000.0  # a fixed "now" (2030) so the future-date check does not depend on the clock


def change(cid: str, date: int | str = 1_600_000_000, bug: int | str = 0, **metrics) -> dict:
    """One valid raw row in the k-feature format (values as the CSV reader gives them: strings)."""
    row = {"_id": cid, "date": date, "bug": bug, "ns": 1, "nd": 1, "nf": 2, "entrophy": 0.5, "la": 10, "ld": 3,
           "lt": 200, "fix": 0, "ndev": 3, "age": 12.5, "nuc": 7, "exp": 40, "rexp": 5.5, "sexp": 9}
    row.update(metrics)
    return {k: str(v) for k, v in row.items()}


def shared_change_risk_dir() -> Path | None:
    """``../shared/data/change_risk`` when the public ISSTA'21 files are there (read at test time, never copied)."""
    base = shared_data_dir()
    path = base / "change_risk" if base else None
    return path if path and (path / "openstack_k_feature.csv").is_file() else None


SHARED = shared_change_risk_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/data/change_risk is not present")
