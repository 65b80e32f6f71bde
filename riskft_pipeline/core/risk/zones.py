"""Risk zones: where a change's score falls among the validation period's scores, for reviewers who can look at only
some of the changes.

Deployed systems gate a fixed share of the riskiest changes (Meta's Diff Risk Score holds back the riskiest 5/10/50%
of diffs at risky times; Commit Guru and CLEVER flag the top of the ranking). A zone is that share: the riskiest
:data:`ZONE_SHARES` (5%, 10%, 20%) of changes, with the cut points taken from the **validation** scores (never test),
so a reviewer knows in advance how many changes a zone holds, and the report measures, on the test split, what share
of the bug-inducing changes each zone actually catches, per method. Zones nest: a change in ``top5`` is also among
the riskiest 10% and 20%; it is named by the smallest zone it belongs to.

Pure: plain floats and numpy, JSON-ready (the cut points travel in ``predictor.json``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

ZONE_SHARES: tuple[float, ...] = (0.05, 0.10, 0.20)
REST = "rest"
PERCENTILE_GRID = 101  # validation score quantiles kept for percentiles (0, 1, ..., 100)


def zone_name(share: float) -> str:
    return f"top{round(100 * share)}"


def fit_zones(val_scores: Sequence[float] | np.ndarray, shares: Sequence[float] = ZONE_SHARES) -> dict[str, Any]:
    """Cut points of the riskiest ``shares`` of changes, and a quantile grid for percentiles, from validation scores.

    A change is in zone ``topN`` when its score is at least the validation scores' ``1 - N/100`` quantile."""
    values = np.sort(np.asarray([float(v) for v in val_scores if not math.isnan(float(v))], dtype=float))
    if len(values) < 2:
        raise ValueError("fit_zones needs at least two validation scores")
    shares = sorted(float(s) for s in shares)
    if not shares or shares[0] <= 0 or shares[-1] >= 1:
        raise ValueError(f"zone shares must lie in (0, 1), got {shares}")
    return {
        "zones": [{"name": zone_name(s), "share": s, "from_score": float(np.quantile(values, 1.0 - s))}
                  for s in shares],
        "grid": np.quantile(values, np.linspace(0.0, 1.0, PERCENTILE_GRID)).tolist(),
        "n_val": len(values),
        "rule": ("zone topN = the score is at least the validation scores' (100-N)th percentile: about N% of "
                 "changes like the validation period's fall in it"),
    }


def zone_of(scores: Sequence[float] | np.ndarray, zones: Mapping[str, Any]) -> list[str]:
    """The smallest zone each score belongs to, or :data:`REST`."""
    ordered = sorted(zones["zones"], key=lambda z: z["share"])
    out = []
    for s in np.asarray(scores, dtype=float):
        out.append(next((z["name"] for z in ordered if s >= z["from_score"]), REST))
    return out


def percentiles(scores: Sequence[float] | np.ndarray, zones: Mapping[str, Any]) -> np.ndarray:
    """Percentile (0..100) of each score among the validation scores, read off the stored quantile grid with ties
    counted half (as :meth:`~riskft_pipeline.core.risk.context.HistoryStats.percentile` does for metrics): 97 = riskier
    than about 97% of the validation period's changes."""
    grid = np.asarray(zones["grid"], dtype=float)
    steps = np.linspace(0.0, 100.0, len(grid))

    def below(v: float) -> float:
        left = int(np.searchsorted(grid, v, side="left"))
        if left == 0:
            return 0.0
        if left == len(grid):
            return 100.0
        lo, hi = grid[left - 1], grid[left]
        frac = 0.0 if hi == lo else (v - lo) / (hi - lo)
        return float(steps[left - 1] + frac * (steps[left] - steps[left - 1]))

    def at_most(v: float) -> float:
        right = int(np.searchsorted(grid, v, side="right"))
        return float(steps[right - 1]) if right > 0 and grid[right - 1] == v else below(v)

    return np.array([0.5 * (below(v) + at_most(v)) for v in np.asarray(scores, dtype=float)])


def zone_capture(y: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                 zones: Mapping[str, Any]) -> dict[str, dict[str, float | int | None]]:
    """Per zone, on labelled changes: the share of changes it flagged and the share of bug-inducing changes it
    caught (recall), with its precision (bug rate inside the zone)."""
    y = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    n, bugs = len(y), int(y.sum())
    out: dict[str, dict[str, float | int | None]] = {}
    for z in sorted(zones["zones"], key=lambda z: z["share"]):
        flagged = s >= z["from_score"]
        k, caught = int(flagged.sum()), int(y[flagged].sum())
        out[z["name"]] = {
            "flagged": k,
            "flagged_share": round(k / n, 4) if n else None,
            "bugs_caught": caught,
            "recall": round(caught / bugs, 4) if bugs else None,
            "precision": round(caught / k, 4) if k else None,
        }
    return out


#: how far (in binomial standard errors) a batch's share in a zone may stray from the zone's share before the batch
#: summary says so: ~99% of batches drawn like the validation period stay inside
SHIFT_Z = 2.58
SHIFT_MIN_ROWS = 20


def zone_shift(zone_names: Sequence[str], shares: Sequence[float] = ZONE_SHARES, *, z: float = SHIFT_Z,
               min_rows: int = SHIFT_MIN_ROWS) -> list[dict[str, Any]]:
    """Per zone, the share of a batch's changes that fall in it (zones nest: ``top10`` counts ``top5`` too) against
    the share the validation period puts there, and whether the difference is beyond chance.

    A batch scored like the validation period puts about N% of its changes in ``topN``; far more means the new changes
    score higher than the ones the cut points were fitted on (larger, more spread-out changes, or drift since
    training), so the zones flag more than a reviewer planned for. ``shifted`` is set when the batch's share lies
    outside ``share ± z·sqrt(share·(1-share)/n)`` (a normal approximation of the binomial; never for fewer than
    ``min_rows`` changes, where chance alone moves the shares a lot)."""
    names = [str(v) for v in zone_names]
    order = [zone_name(s) for s in sorted(shares)]
    inside = {name: sum(1 for v in names if v in order[: i + 1]) for i, name in enumerate(order)}
    return shift_of_counts(inside, len(names), shares, z=z, min_rows=min_rows)


def shift_of_counts(inside: Mapping[str, int], n: int, shares: Sequence[float] = ZONE_SHARES, *,
                    z: float = SHIFT_Z, min_rows: int = SHIFT_MIN_ROWS) -> list[dict[str, Any]]:
    """:func:`zone_shift` from counts: ``inside[zone]`` changes of ``n`` at or above the zone's cut (nested)."""
    out = []
    for share in sorted(shares):
        name = zone_name(share)
        observed = inside.get(name, 0) / n if n else 0.0
        band = z * math.sqrt(share * (1.0 - share) / n) if n else math.inf
        out.append({"zone": name, "expected": share, "observed": round(observed, 4), "changes": inside.get(name, 0),
                    "shifted": n >= min_rows and abs(observed - share) > band})
    return out
