"""What an evaluation report says in a few lines: the shipped predictor against each method on the primary metric.

Read by ``make run``'s closing table and by the evaluation asset's numeric metadata; pure (the report dict in, text
or numbers out), so both tasks' reports are summarised by one piece of code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def method_scores(report: Mapping[str, Any]) -> dict[str, float | None]:
    """The primary metric of every method in the report (tickets: mean field accuracy; risk: test AUC)."""
    if "mean_field_accuracy" in report and isinstance(report["mean_field_accuracy"], Mapping):
        return {m: _num(v) for m, v in report["mean_field_accuracy"].items()}
    methods = report.get("methods") or {}
    return {m: _num((v or {}).get("auc")) for m, v in methods.items()}


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def baselines_beaten(report: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(beaten, not beaten)``: baselines whose primary metric the shipped predictor reaches or exceeds, and the
    others (the adapter alone is not a baseline)."""
    scores = method_scores(report)
    shipped = report.get("shipped", "model")
    mine = scores.get(shipped)
    beaten, lost = [], []
    for m, v in scores.items():
        if m in (shipped, "model") or v is None or mine is None:
            continue
        (beaten if mine >= v else lost).append(m)
    return beaten, lost


def summary_lines(report: Mapping[str, Any], registration: Mapping[str, Any] | None = None) -> list[str]:
    """A small table (method, primary metric) with the shipped predictor first, then one sentence on baselines."""
    scores = method_scores(report)
    name = (report.get("primary_metric") or {}).get("name", "primary metric")
    shipped = report.get("shipped", "model")
    order = [shipped] + [m for m in scores if m != shipped]
    width = max(len(m) for m in order) + 2
    lines = [f"{'method':<{width}}{name}"]
    for m in order:
        v = scores.get(m)
        tag = "  <- shipped" if m == shipped else "  (adapter alone)" if m == "model" else ""
        lines.append(f"{m:<{width}}{'–' if v is None else f'{v:.4f}'}{tag}")
    beaten, lost = baselines_beaten(report)
    if lost:
        lines.append(f"the shipped predictor LOSES to {', '.join(lost)} on {name}")
    elif beaten:
        lines.append(f"the shipped predictor beats or ties every baseline on {name} ({', '.join(beaten)})")
    if report.get("lm_contribution"):
        lines.append(str(report["lm_contribution"]))
    if registration:
        lines.append(f"{registration.get('model_name')} v{registration.get('version')}: "
                     f"{'promoted to champion' if registration.get('promoted') else 'not promoted'} "
                     f"({registration.get('reason')})")
    return lines
