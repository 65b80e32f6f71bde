"""Risk tiers, defined from the training period only, and the training target of each example.

**Risk band (what a tier means).** A change's *band* is where its training-period risk-profile score (the logistic
regression on the 14 ``log1p`` metrics of :class:`~riskft_pipeline.core.risk.context.HistoryStats`) falls among the
training changes' scores: below the ``tiers_quantiles[0]`` quantile (default 0.5) → ``low``, above
``tiers_quantiles[1]`` (default 0.8) → ``high``, else ``medium``. Cut points are fitted on ``train`` only and
written into the report (:meth:`TierDefinition.to_dict`).

**Training target (what the model is taught).** Tier points ``band ∈ {0,1,2}`` and outcome ``2·bug ∈ {0,2}`` are
averaged, ``(band + 2·bug) / 2``, and rounded *stochastically* (up with probability equal to the fractional part,
drawn from a hash of the change id and the seed, so it is reproducible):

==========  =================  ======================
band        clean change       bug-inducing change
==========  =================  ======================
low         low                medium
medium      low or medium      medium or high
high        medium             high
==========  =================  ======================

Why this rule: the ranking score is ``P(high) + 0.5·P(medium)``, i.e. half the model's expected tier points. Under
this rule the expected target points are ``(band + 2·P(bug | change)) / 2``, so a model that learns its targets well
ranks changes by ``band/4 + P(bug)/2``: a smooth blend of what the *whole* training period says about the metrics
(the band, from a model fitted on every training row) and what the model itself learns about the outcome from the
prompt, including commit text a tabular model cannot read. Alternatives were compared with cheap stand-ins for the
language model (a logistic regression and a gradient-boosted classifier trained on 1,500 and 3,000 class-balanced
examples, 6 seeds, openstack and qt time splits): outcome-only targets (buggy → high, clean → low) were worst by
0.02–0.04 AUC for the tree stand-in and leave ``medium`` unused; band-only targets ignore the outcome so text can never
help; deterministic "band moved one step toward the outcome" and "half-up/half-down" roundings were 0.005–0.02 below
the stochastic average on at least one data set. The observed bug rate rose low → medium → high on both test sets for
the chosen rule (stand-ins, argmax tier: openstack .08/.23/.47, qt .06/.14/.30).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskft_pipeline.core.risk.context import HistoryStats
from riskft_pipeline.core.risk.features import ID, LABEL
from riskft_pipeline.core.risk.prompts import TIERS

RULE = "stochastic-average(band, outcome)"


@dataclass
class TierDefinition:
    quantiles: tuple[float, float]
    thresholds: tuple[float, float]
    seed: int
    rule: str = RULE
    train_band_bug_rates: dict[str, float] = field(default_factory=dict)
    train_band_counts: dict[str, int] = field(default_factory=dict)
    train_target_counts: dict[str, int] = field(default_factory=dict)
    description: str = ""

    def band(self, scores: np.ndarray) -> np.ndarray:
        """0/1/2 (low/medium/high) for risk-profile scores; a score equal to a cut point goes to the lower band."""
        return np.searchsorted(np.asarray(self.thresholds), np.asarray(scores, dtype=float), side="left")

    def targets(self, df: pd.DataFrame, stats: HistoryStats) -> list[str]:
        """The training target tier of each change (needs the outcome: training and validation only)."""
        band = self.band(stats.profile_score(df))
        points = (band + 2 * df[LABEL].to_numpy(dtype=int)) / 2.0
        draws = np.array([_uniform(cid, self.seed) for cid in df[ID]])
        return [TIERS[int(t)] for t in np.floor(points + draws).clip(0, 2)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-native (lists, not tuples), so a report compares equal to its own JSON file."""
        d = asdict(self)
        d["quantiles"], d["thresholds"] = list(self.quantiles), list(self.thresholds)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TierDefinition:
        d = dict(d)
        d["quantiles"] = tuple(d["quantiles"])
        d["thresholds"] = tuple(d["thresholds"])
        return cls(**d)


def _uniform(change_id: str, seed: int) -> float:
    """A reproducible draw in [0, 1) per change: the same change gets the same target in every run."""
    digest = hashlib.sha256(f"{seed}:{change_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def fit_tiers(train: pd.DataFrame, stats: HistoryStats, *, quantiles: tuple[float, float] = (0.5, 0.8),
              seed: int = 42) -> TierDefinition:
    """Cut points from the training split's risk-profile scores; counts and bug rates per band for the report."""
    scores = stats.profile_score(train)
    thresholds = tuple(float(q) for q in np.quantile(scores, quantiles))
    tiers = TierDefinition(quantiles=tuple(quantiles), thresholds=thresholds, seed=seed)
    band = tiers.band(scores)
    bug = train[LABEL].to_numpy(dtype=float)
    tiers.train_band_counts = {t: int((band == i).sum()) for i, t in enumerate(TIERS)}
    tiers.train_band_bug_rates = {t: round(float(bug[band == i].mean()), 4) if (band == i).any() else float("nan")
                                  for i, t in enumerate(TIERS)}
    targets = tiers.targets(train, stats)
    tiers.train_target_counts = {t: targets.count(t) for t in TIERS}
    tiers.description = (
        f"band = risk-profile score (logistic regression on log1p metrics, fitted on train) cut at train quantiles "
        f"{quantiles[0]:g}/{quantiles[1]:g}; training target = (band + 2*bug)/2 rounded stochastically "
        f"(seed {seed}): low band clean->low, buggy->medium; medium band clean->low|medium, buggy->medium|high; "
        f"high band clean->medium, buggy->high. Predicted tier = band of the shipped score (see tier_cuts)."
    )
    return tiers


# --- predicted tiers ------------------------------------------------------------------------------------------------

SCORE_CUTS_RULE = ("predicted tier = band of the shipped score (the adapter's P(high) + 0.5*P(medium) fused with "
                   "logistic regression) cut at the validation scores' quantiles, the same quantiles that define the "
                   "training bands")


def score_cuts(val_scores, quantiles: tuple[float, float] = (0.5, 0.8)) -> dict:
    """Cut points for predicted tiers: the ``quantiles`` of the model's scores on the validation slice.

    The most probable tier alone under-uses ``high`` (it is the rarest training target, so it is seldom the argmax)
    and can leave a tier empty; cutting the ranking score at the same quantiles that define the training bands gives
    every tier its intended share and keeps the tiers ordered by score, so observed bug rates rise with the tier
    whenever the score ranks at all."""
    values = sorted(float(v) for v in val_scores if not math.isnan(float(v)))
    if len(values) < 2:
        raise ValueError("score_cuts needs at least two validation scores")
    lo_q, hi_q = quantiles
    if not 0.0 < lo_q < hi_q < 1.0:
        raise ValueError(f"quantiles must satisfy 0 < low < high < 1, got {quantiles}")

    def q(p: float) -> float:  # linear interpolation, as numpy's default
        pos = p * (len(values) - 1)
        i = int(pos)
        frac = pos - i
        return values[i] if i + 1 >= len(values) else values[i] + frac * (values[i + 1] - values[i])

    return {"low_below": q(lo_q), "high_from": q(hi_q), "quantiles": [lo_q, hi_q], "n_val": len(values),
            "rule": SCORE_CUTS_RULE}


def tiers_from_scores(scores, cuts: dict) -> list[str]:
    """``low`` below ``cuts['low_below']``, ``high`` at or above ``cuts['high_from']``, else ``medium``."""
    lo, hi = float(cuts["low_below"]), float(cuts["high_from"])
    return ["low" if s < lo else "high" if s >= hi else "medium" for s in (float(x) for x in scores)]
