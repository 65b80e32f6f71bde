"""Training-period context: how a change compares with this repository's history, computed on ``train`` only.

A reviewer reads "adds 412 lines" very differently in a repository where that is typical and in one where it is the
top 1%. :class:`HistoryStats` holds what is needed to say so, fitted once on the training split and then applied
unchanged to validation, test and new changes (fitting it on later data would leak the future into the prompt):

- a quantile grid per metric → percentile ranks ("top 5% of history");
- the bug rate of changes of similar *size* (lines-added deciles);
- the bug rate of changes with a similar *risk profile*: changes are bucketed by the score of a logistic regression
  on the 14 ``log1p`` metrics (standardised on train) and each bucket's training bug rate is recorded. This is the
  single most useful sentence for a reviewer ("changes like this one were buggy 41% of the time") and it lets a
  small language model, which sees only a capped number of training examples, use what the whole training period
  says about the metrics.

Everything is plain lists and floats: :meth:`HistoryStats.to_dict` goes into ``history_stats.json``, the report and
the registered model, and :meth:`HistoryStats.from_dict` restores it for enrichment of new changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.features import COUNT_FEATURES, FEATURES, LABEL, log1p_features

GRID = np.linspace(0.0, 1.0, 201)
PROFILE_BUCKETS = 20
SIZE_BUCKETS = 10


@dataclass
class LogisticProfile:
    """A logistic regression on standardised ``log1p`` metrics, stored as numbers so scoring needs only numpy."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    features: list[str] = field(default_factory=lambda: list(FEATURES))

    @classmethod
    def fit(cls, df: pd.DataFrame, *, c: float = 1.0) -> LogisticProfile:
        x = log1p_features(df)
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, df[LABEL].to_numpy(dtype=int))
        return cls(mean=mean.tolist(), scale=scale.tolist(), coef=model.coef_[0].tolist(),
                   intercept=float(model.intercept_[0]))

    def score(self, df: pd.DataFrame) -> np.ndarray:
        return self._score(log1p_features(df))

    def score_row(self, row: Mapping[str, Any]) -> float:
        """One change (a dict or Series with the 14 metrics), without building a frame."""
        x = np.log1p(np.maximum(np.array([float(row[f]) for f in self.features]), 0.0))
        return float(self._score(x[None, :])[0])

    def _score(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))


@dataclass
class RateTable:
    """Bug rate per bucket; bucket ``i`` holds values in ``(edges[i-1], edges[i]]``."""

    edges: list[float]
    rates: list[float]
    counts: list[int]

    @classmethod
    def fit(cls, values: np.ndarray, bug: np.ndarray, buckets: int) -> RateTable:
        edges = np.unique(np.quantile(values, np.linspace(0, 1, buckets + 1)[1:-1]))
        idx = np.searchsorted(edges, values, side="left")
        counts = np.bincount(idx, minlength=len(edges) + 1)
        sums = np.bincount(idx, weights=bug, minlength=len(edges) + 1)
        rates = np.divide(sums, counts, out=np.full(len(counts), float(np.mean(bug))), where=counts > 0)
        return cls(edges=edges.tolist(), rates=rates.tolist(), counts=counts.astype(int).tolist())

    def bucket(self, values: np.ndarray | float) -> np.ndarray:
        return np.searchsorted(np.asarray(self.edges), values, side="left")

    def rate(self, values: np.ndarray | float) -> np.ndarray:
        return np.asarray(self.rates)[self.bucket(values)]


@dataclass
class HistoryStats:
    n_train: int
    base_rate: float
    quantiles: dict[str, list[float]]
    size: RateTable
    profile: LogisticProfile
    profile_rates: RateTable
    train_period: dict[str, str] = field(default_factory=dict)

    # --- percentiles -------------------------------------------------------------------------------------------

    def _grid(self, feature: str) -> np.ndarray:
        return np.asarray(self.quantiles[feature])

    def share_below(self, feature: str, value: float) -> float:
        """Approximate share (0..1) of training changes with a value strictly below ``value``."""
        grid = self._grid(feature)
        left = int(np.searchsorted(grid, value, side="left"))
        if left == 0:
            return 0.0
        if left == len(grid):
            return 1.0
        lo, hi = grid[left - 1], grid[left]
        frac = 0.0 if hi == lo else (value - lo) / (hi - lo)
        return float(GRID[left - 1] + frac * (GRID[left] - GRID[left - 1]))

    def share_at_most(self, feature: str, value: float) -> float:
        """Approximate share (0..1) of training changes with a value at most ``value``."""
        grid = self._grid(feature)
        right = int(np.searchsorted(grid, value, side="right"))
        if right > 0 and grid[right - 1] == value:
            return float(GRID[right - 1])
        return self.share_below(feature, value)

    def percentile(self, feature: str, value: float) -> float:
        """Mid-rank percentile (0..100): ties count half, so a value shared by 80% of history sits near 40, not 80."""
        return 50.0 * (self.share_below(feature, value) + self.share_at_most(feature, value))

    def top_share(self, feature: str, value: float) -> float:
        """Percent of training changes with a value at least this large ("top 5%")."""
        return 100.0 * (1.0 - self.share_below(feature, value))

    def bottom_share(self, feature: str, value: float) -> float:
        """Percent of training changes with a value at most this large ("bottom 10%")."""
        return 100.0 * self.share_at_most(feature, value)

    # --- rates of similar changes ------------------------------------------------------------------------------

    def profile_score(self, df: pd.DataFrame) -> np.ndarray:
        return self.profile.score(df)

    def similar_rate(self, df: pd.DataFrame) -> np.ndarray:
        """Training bug rate of changes in the same risk-profile bucket."""
        return self.profile_rates.rate(self.profile_score(df))

    def similar_rate_row(self, row: Mapping[str, Any]) -> float:
        return float(self.profile_rates.rate(self.profile.score_row(row)))

    def size_rate(self, la: np.ndarray | float) -> np.ndarray:
        """Training bug rate of changes in the same lines-added decile."""
        return self.size.rate(la)

    # --- serialisation -----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HistoryStats:
        return cls(
            n_train=int(d["n_train"]),
            base_rate=float(d["base_rate"]),
            quantiles={k: list(v) for k, v in d["quantiles"].items()},
            size=RateTable(**d["size"]),
            profile=LogisticProfile(**d["profile"]),
            profile_rates=RateTable(**d["profile_rates"]),
            train_period=dict(d.get("train_period", {})),
        )


def fit_history(train: pd.DataFrame, train_period: dict[str, str] | None = None) -> HistoryStats:
    """Fit every statistic on the training split only (callers pass ``split.train``, never val or test).

    Raises InputError when the training period holds only one outcome: there is nothing to learn risk from."""
    bug = train[LABEL].to_numpy(dtype=float)
    if len(np.unique(bug)) < 2:
        raise InputError(f"the training period ({len(train)} changes) has only {'bug-inducing' if bug.any() else 'clean'}"
                         " changes; risk cannot be learned (is the bug label filled in?)")
    quantiles = {f: np.quantile(train[f].to_numpy(dtype=float), GRID).tolist() for f in COUNT_FEATURES}
    profile = LogisticProfile.fit(train)
    return HistoryStats(
        n_train=len(train),
        base_rate=float(bug.mean()),
        quantiles=quantiles,
        size=RateTable.fit(train["la"].to_numpy(dtype=float), bug, SIZE_BUCKETS),
        profile=profile,
        profile_rates=RateTable.fit(profile.score(train), bug, PROFILE_BUCKETS),
        train_period=dict(train_period or {}),
    )
