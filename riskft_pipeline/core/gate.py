"""The champion gate: whether a candidate model version takes the ``champion`` alias, and why. Pure (no MLflow): the
registry (:mod:`riskft_pipeline.tracking.registry`) reads the champion's tags into a :class:`Champion`, measures it on
the candidate's test split when needed (a :class:`Reevaluation`) and then asks :func:`decide`.

The rule, in order: the valid-JSON rate must reach the recipe's minimum; no champion → promote; a champion measured on
the same test split (same sha256) → promote only when strictly better than its recorded value; a champion measured on
another split → compare with its re-evaluation on this split (strictly better promotes), else not comparable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHAMPION = "champion"


@dataclass(frozen=True)
class Champion:
    """What the gate needs to know about the current champion, read from its version tags."""

    version: str
    metric_name: str | None
    value: float | None
    test_sha256: str | None


#: ``reevaluate(champion_adapter_dir, champion_version) -> report``: the caller's evaluation (the same function and
#: recipe settings that produced the candidate's report) run on the candidate's test split.
Reevaluate = Callable[[Path, str], Mapping[str, Any]]


@dataclass(frozen=True)
class Reevaluation:
    """The champion measured on the candidate's test split, or why that could not be done (``error``)."""

    version: str
    test_sha256: str | None
    value: float | None = None
    valid_json_rate: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "test_split_sha256": self.test_sha256, "value": self.value,
                "valid_json_rate": self.valid_json_rate, "error": self.error}


def needs_reevaluation(test_sha: str | None, champion: Champion | None) -> bool:
    """A champion exists and was measured on another test split than the candidate's (known) one."""
    return champion is not None and bool(test_sha) and champion.test_sha256 != test_sha


def json_blocked(rate: float | None, minimum: float) -> bool:
    """The candidate's valid-JSON rate is missing or below a positive minimum: it cannot be promoted."""
    return minimum > 0 and (rate is None or rate < minimum)


def decide(metric: tuple[str, float], test_sha: str | None, champion: Champion | None, *,
           higher_is_better: bool = True, valid_json_rate: float | None = None,
           min_valid_json_rate: float = 0.0, alias: str = CHAMPION,
           reevaluation: Reevaluation | None = None) -> tuple[bool, str]:
    """Promote or not, and why (one sentence).

    Blocking precondition: the valid-JSON rate reaches ``min_valid_json_rate``. Then: no champion → promote.
    Champion measured on the same test split (same sha256) → promote only when strictly better than its recorded
    value. Champion measured on another split → compare with ``reevaluation`` (the champion measured on this split),
    strictly better promotes; without a usable re-evaluation → not comparable, not promoted (the reason says why
    re-evaluation failed). A recorded value under another metric name or none → not comparable.
    """
    name, value = metric
    if json_blocked(valid_json_rate, min_valid_json_rate):
        shown = "missing" if valid_json_rate is None else f"{valid_json_rate:.4f}"
        return False, f"not promoted: valid-JSON rate {shown} is below the required {min_valid_json_rate:.4f}"
    if champion is None:
        return True, f"promoted to @{alias}: no current @{alias} ({name} = {value:.4f})"
    same_split = bool(test_sha) and champion.test_sha256 == test_sha
    if not same_split:
        usable = (reevaluation is not None and reevaluation.error is None and reevaluation.value is not None
                  and reevaluation.version == champion.version and reevaluation.test_sha256 == test_sha)
        if usable:
            return _compare(name, value, reevaluation.value, champion.version, higher_is_better, alias,
                            f"re-evaluated on this test split (sha256 {short_sha(test_sha)})")
        different = (f"@{alias} (version {champion.version}) was measured on a different test split "
                     f"(sha256 {short_sha(champion.test_sha256)} vs {short_sha(test_sha)})")
        if reevaluation is not None and reevaluation.error:
            return False, (f"not promoted: {different} and could not be re-evaluated on this one: "
                           f"{reevaluation.error}; not comparable")
        return False, f"not promoted: {different}; not comparable"
    if champion.metric_name != name or champion.value is None:
        return False, (f"not promoted: @{alias} (version {champion.version}) has no recorded {name}; "
                       "not comparable")
    return _compare(name, value, champion.value, champion.version, higher_is_better, alias, "on the same test split")


def comparison(test_sha: str | None, champion: Champion | None,
               reevaluation: Reevaluation | None) -> dict[str, Any] | None:
    """What the candidate was compared with: ``{champion_version, champion_value, compared_on_test_sha256,
    champion_reevaluated, champion_recorded: {value, test_split_sha256}, reevaluation}``; None without a champion.
    ``champion_value`` / ``compared_on_test_sha256`` are None when nothing comparable was available."""
    if champion is None:
        return None
    same_split = bool(test_sha) and champion.test_sha256 == test_sha
    reevaluated = reevaluation is not None and reevaluation.error is None
    value = reevaluation.value if reevaluated else champion.value if same_split else None
    return {"champion_version": champion.version, "champion_value": value,
            "compared_on_test_sha256": test_sha if (same_split or reevaluated) else None,
            "champion_reevaluated": reevaluated,
            "champion_recorded": {"value": champion.value, "test_split_sha256": champion.test_sha256},
            "reevaluation": None if reevaluation is None else reevaluation.as_dict()}


def _compare(name: str, value: float, champion_value: float, version: str, higher_is_better: bool, alias: str,
             where: str) -> tuple[bool, str]:
    better = value > champion_value if higher_is_better else value < champion_value
    relation = "beats" if better else "does not beat"
    verdict = f"promoted to @{alias}" if better else "not promoted"
    return better, (f"{verdict}: {name} {value:.4f} {relation} @{alias} version {version} "
                    f"({champion_value:.4f}) {where}")


def short_sha(sha: str | None) -> str:
    return sha[:12] if sha else "unknown"
