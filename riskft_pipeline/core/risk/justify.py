"""Mechanical justifications: a few facts true of the change, chosen to explain its tier, in the prompt's own words.

A justification is built from the same fragments the user turn shows (:mod:`~riskft_pipeline.core.risk.prompts`),
so a fine-tuned model learns to justify by *copying* facts it was given (which a 135M model does reliably) rather than
by re-deriving numbers (which it does not), and :func:`~riskft_pipeline.core.risk.faithful.check_faithful` can verify
every number in it.

Which facts: each fragment's metric has a direction, the sign of its coefficient in the training-period risk profile
(:class:`~riskft_pipeline.core.risk.context.LogisticProfile`), and a salience, how far its percentile is from the
median in that direction. A ``high`` tier cites the (at most two) most risk-raising facts, ``low`` the most
risk-lowering, ``medium`` one of each when they exist; every justification ends with the training-period bug rate of
similar changes, the fact that summarises them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from riskft_pipeline.core.risk import prompts
from riskft_pipeline.core.risk.context import HistoryStats
from riskft_pipeline.core.risk.faithful import check_faithful

Fragment = Callable[[Mapping[str, Any], HistoryStats], str]
# (metrics the fragment states, fragment builder)
FACTS: tuple[tuple[tuple[str, ...], Fragment], ...] = (
    (("la",), prompts.size_fragment),
    (("nf",), prompts.spread_fragment),
    (("lt", "nuc", "ndev"), prompts.files_fragment),
    (("exp",), prompts.author_fragment),
)
MIN_SALIENCE = 0.3
MAX_FACTS = 2


def salience(row: Mapping[str, Any], stats: HistoryStats, features: tuple[str, ...]) -> float:
    """In [-1, 1]: > 0 when these metrics push the change's risk up relative to the median change of history
    (each metric's percentile distance from the median, signed by its profile coefficient, weighted by its size)."""
    coef = dict(zip(stats.profile.features, stats.profile.coef))
    weights = [abs(coef[f]) for f in features]
    if sum(weights) == 0:
        return 0.0
    signed = [(stats.percentile(f, float(row[f])) - 50.0) / 50.0 * (1.0 if coef[f] >= 0 else -1.0) for f in features]
    return float(sum(w * s for w, s in zip(weights, signed)) / sum(weights))


def _pick(row: Mapping[str, Any], stats: HistoryStats, sign: float, k: int) -> list[str]:
    scored = [(sign * salience(row, stats, f), build(row, stats)) for f, build in FACTS]
    scored = [s for s in scored if s[0] >= MIN_SALIENCE]
    return [text for _, text in sorted(scored, key=lambda s: -s[0])[:k]]


def justification(row: Mapping[str, Any], stats: HistoryStats, tier: str) -> str:
    """Facts for ``tier`` joined by ``"; "``; deterministic for a given change, statistics and tier."""
    if tier == "high":
        facts = _pick(row, stats, +1.0, MAX_FACTS)
        if int(row["fix"]) and stats.profile.coef[stats.profile.features.index("fix")] > 0:
            facts.append("bug fix")
    elif tier == "low":
        facts = _pick(row, stats, -1.0, MAX_FACTS)
    elif tier == "medium":
        facts = _pick(row, stats, +1.0, 1) + _pick(row, stats, -1.0, 1)
    else:
        raise ValueError(f"unknown tier {tier!r}")
    return "; ".join([*facts, prompts.similar_fragment(row, stats)])


# --- what a reviewer is shown -----------------------------------------------------------------------------------

MODEL, RULE = "model", "rule"


def justification_start(tier: str) -> str:
    """The answer up to the justification's first character, for ``tier``: the model writes its justification *for
    the shipped tier* (the band of the shipped score), so the reasons never argue for another tier."""
    return prompts.render_answer(tier, "")[: -len('"}')]


def read_justification(start: str, generated: str) -> str | None:
    """The justification from ``start`` + the model's continuation (closed when the token budget cut it)."""
    for tail in ("", '…"}'):
        parsed = prompts.parse_answer(start + generated + tail)
        if parsed is not None:
            return parsed["justification"] or None
    return None


def shipped_justification(generated: str | None, row: Mapping[str, Any], stats: HistoryStats, tier: str
                          ) -> tuple[str, str, list[str]]:
    """``(text, source, violations)``: the model's justification when every claim in it is true of the change
    (source ``model``), else the rule-based one for the same tier (source ``rule``), which cites only facts it was
    built from. ``violations`` are the model's, so a report can count what was replaced and why."""
    check = check_faithful(generated, row, stats)
    if check.ok:
        return str(generated), MODEL, []
    return justification(row, stats, tier), RULE, list(check.violations)
