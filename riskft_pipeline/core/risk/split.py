"""Time split, never shuffled: the literature's protocol, so numbers compare with published ones.

The first ``1 - test_fraction`` of changes by date is the training period, the rest is test (80/20 by default). The
most recent ``val_fraction`` of the training period is held out as validation (thresholds, early stopping): it is the
slice closest in time to the test period, which is what a threshold tuned for "the next changes" should see. Every
statistic, model and tier boundary is fitted on ``train`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.features import DATE, ID

SPLITS: tuple[str, ...] = ("train", "val", "test")
MIN_ROWS_PER_SPLIT = 2


@dataclass
class TimeSplit:
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    boundaries: dict[str, str]

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def sizes(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.frames().items()}

    def describe(self) -> dict:
        """Sizes, bug rates and boundary dates, JSON-able (goes into summaries and reports)."""
        return {
            "sizes": self.sizes(),
            "bug_rates": {n: round(float(f["bug"].mean()), 4) for n, f in self.frames().items()},
            "boundaries": self.boundaries,
        }


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(float(seconds), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_sizes(n: int, test_fraction: float, val_fraction: float) -> tuple[int, int, int]:
    """(train, val, test) row counts. The training period is ``floor(n * (1 - test_fraction))`` rows: on the public
    data that gives the published 18,205/4,552 (openstack) and 19,129/4,783 (qt)."""
    period = int(n * (1 - test_fraction) + 1e-9)
    val = max(1, round(period * val_fraction))
    return period - val, val, n - period


def time_split(df: pd.DataFrame, *, test_fraction: float = 0.2, val_fraction: float = 0.1) -> TimeSplit:
    """Split clean changes by date (stable sort, so equal dates keep file order). Raises InputError when a split
    would hold fewer than :data:`MIN_ROWS_PER_SPLIT` rows."""
    ordered = df.sort_values(DATE, kind="stable").reset_index(drop=True)
    n_train, n_val, n_test = split_sizes(len(ordered), test_fraction, val_fraction)
    if min(n_train, n_val, n_test) < MIN_ROWS_PER_SPLIT:
        raise InputError(f"{len(ordered)} clean changes are too few for a train/val/test split "
                         f"({n_train}/{n_val}/{n_test}); need at least {MIN_ROWS_PER_SPLIT} in each")
    train = ordered.iloc[:n_train].reset_index(drop=True)
    val = ordered.iloc[n_train:n_train + n_val].reset_index(drop=True)
    test = ordered.iloc[n_train + n_val:].reset_index(drop=True)
    boundaries = {
        "train_start": iso(train[DATE].iloc[0]), "train_end": iso(train[DATE].iloc[-1]),
        "val_start": iso(val[DATE].iloc[0]), "val_end": iso(val[DATE].iloc[-1]),
        "test_start": iso(test[DATE].iloc[0]), "test_end": iso(test[DATE].iloc[-1]),
    }
    return TimeSplit(train=train, val=val, test=test, boundaries=boundaries)


def assert_no_leakage(split: TimeSplit) -> None:
    """Blocking check: no change in two splits, and no split starts before the previous one ends."""
    seen: set[str] = set()
    for name, frame in split.frames().items():
        ids = set(frame[ID])
        if seen & ids:
            raise ValueError(f"split leakage: {len(seen & ids)} change id(s) of {name} also in an earlier split")
        seen |= ids
    if split.train[DATE].max() > split.val[DATE].min() or split.val[DATE].max() > split.test[DATE].min():
        raise ValueError("split leakage: the splits overlap in time")
