"""What must hold of a prepared risk folder (the Dagster asset check calls this): time order, no shared ids, no label
copy among the columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskft_pipeline.core.files import iter_jsonl

SPLITS = ("train", "val", "test")
LABEL_COPIES = ("__",)


def split_problems(data_dir: str | Path) -> list[str]:
    """Human-readable problems; empty when the folder is sound."""
    data_dir = Path(data_dir)
    problems: list[str] = []
    ids = {name: {row["id"] for row in iter_jsonl(data_dir / f"{name}.jsonl")} for name in SPLITS}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            shared = ids[a] & ids[b]
            if shared:
                problems.append(f"{len(shared)} change id(s) in both {a} and {b}, e.g. {min(shared)}")
    clean = pd.read_parquet(data_dir / "clean.parquet")
    for col in LABEL_COPIES:
        if col in clean.columns:
            problems.append(f"label-copy column {col!r} survived cleaning")
    dates = clean.groupby("split")["date"]
    lo, hi = dates.min(), dates.max()
    for earlier, later in (("train", "val"), ("val", "test"), ("train", "test")):
        if earlier in hi and later in lo and hi[earlier] > lo[later]:
            problems.append(f"time order broken: latest {earlier} change is newer than the earliest {later} change")
    return problems
