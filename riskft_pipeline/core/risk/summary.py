"""A compact markdown summary of one batch of enriched changes, for the reviewer who opens it first.

``riskft enrich changes`` (and the ``enriched_changes`` asset) writes it beside the enriched CSV as
``<stem>.summary.md`` (:func:`summary_path`): how many changes fell in each review zone and tier (one cross table,
with totals; a warning when the zones hold far more or fewer changes than the validation period put there), the
riskiest ``top_n`` changes with their percentile, zone, tier and justification (truncated), and how
many rows were quarantined and why. The CSV stays the complete record; this is the page a person reads.

Choices: "riskiest" is the order of ``risk_score`` (the shipped score the zones and tiers are cut from; ties keep the
input order), falling back to ``risk_percentile``; zones are listed riskiest first (``top5``, ``top10``, ``top20``,
``rest``), tiers ``high``, ``medium``, ``low``; a value outside those (an adapter-only model without zones, a future
tier) is still counted, after them. Every cell is escaped for a markdown table (``|``, line breaks, ``<``/``>`` so a
model-written justification cannot inject HTML into a rendered page) and truncated with ``…``.

Pure: a frame of enriched rows in, text out (no Dagster, MLflow or torch).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from riskft_pipeline.core.risk.prompts import TIERS
from riskft_pipeline.core.risk.zones import REST, ZONE_SHARES, zone_name, zone_shift

DEFAULT_TOP_N = 10
JUSTIFICATION_CHARS = 160
MESSAGE_CHARS = 60
ID_CHARS = 40
ZONE_ORDER: tuple[str, ...] = (*(zone_name(s) for s in ZONE_SHARES), REST)
TIER_ORDER: tuple[str, ...] = tuple(reversed(TIERS))  # riskiest first
ZONES_NOTE = ("Zones: the riskiest 5/10/20% by the cut points fitted on the validation period (a change is named by "
              "the smallest zone it is in).")
_GIT_HASH = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SPACE = re.compile(r"\s+")


def summary_path(out_csv: str | Path) -> Path:
    """``<dir>/<stem>.summary.md`` beside the enriched CSV (as ``<stem>.quarantine.csv``)."""
    out_csv = Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}.summary.md")


def batch_summary_markdown(rows: pd.DataFrame, *, quarantined: int = 0,
                           quarantine_reasons: Mapping[str, int] | None = None, top_n: int = DEFAULT_TOP_N,
                           justification_chars: int = JUSTIFICATION_CHARS, source: str | None = None,
                           title: str = "Change risk: batch summary") -> str:
    """The batch's summary as markdown (see the module docstring).

    ``rows``: the enriched rows (columns ``risk_score``, ``risk_tier`` and, as far as present, ``_id``,
    ``risk_percentile``, ``risk_zone``, ``justification``, ``message``, ``model_uri``). ``quarantined`` /
    ``quarantine_reasons``: the rows that could not be enriched (reason → count). ``source``: the input file's name,
    shown in the header.
    """
    n = len(rows)
    lines = [f"# {_escape(title)}", ""]
    header = f"**{n}** change{'s' if n != 1 else ''} enriched, **{quarantined}** quarantined"
    if quarantine_reasons:
        header += " (" + ", ".join(f"{_escape(str(k))}: {int(v)}" for k, v in quarantine_reasons.items()) + ")"
    lines.append(header + ".")
    facts = []
    if source:
        facts.append(f"Input: {_code(Path(source).name)}")
    models = _distinct(rows, "model_uri")
    if models:
        facts.append(f"Model: {_code(', '.join(models))}")
    if facts:
        lines += ["", " · ".join(facts)]
    if n == 0:
        lines += ["", "_No change could be enriched._"]
        return "\n".join(lines) + "\n"

    lines += ["", "## Zones and tiers", ""]
    lines += _counts_table(rows)
    if "risk_zone" in rows.columns:
        lines += ["", ZONES_NOTE]
        shift = _shift_note(rows["risk_zone"])
        if shift:
            lines += ["", shift]

    top = _riskiest(rows, top_n)
    lines += ["", f"## The {len(top)} riskiest", ""]
    lines += _top_table(top, justification_chars)
    if "risk_percentile" in top.columns:
        lines += ["", "Percentile: riskier than that share of the validation period's changes."]
    return "\n".join(lines) + "\n"


def _shift_note(zones: pd.Series) -> str | None:
    """One warning when the batch's zone shares are far from what the validation period puts in them (beyond
    chance: :func:`~riskft_pipeline.core.risk.zones.zone_shift`), saying which way."""
    shifts = [s for s in zone_shift(zones.astype(str).tolist()) if s["shifted"]]
    if not shifts:
        return None
    more = [s for s in shifts if s["observed"] > s["expected"]]
    parts = ", ".join(f"{s['zone']} {100 * s['observed']:.0f}% (expected {100 * s['expected']:.0f}%)" for s in shifts)
    if len(more) == len(shifts):
        return (f"**More changes in the risk zones than the validation period put there**: {parts}. These changes "
                "score higher than the ones the cut points were fitted on (larger or more spread-out changes, or "
                "drift since training): the zones hold more work than planned; read the percentiles as relative to "
                "the validation period, and consider retraining on recent history.")
    if not more:
        return (f"**Fewer changes in the risk zones than the validation period put there**: {parts}. These changes "
                "score lower than the ones the cut points were fitted on (smaller changes, or drift since training).")
    return (f"**Zone shares far from the validation period's**: {parts}. The scores of this batch are distributed "
            "unlike the ones the cut points were fitted on.")


def _distinct(rows: pd.DataFrame, column: str) -> list[str]:
    if column not in rows.columns:
        return []
    return sorted({str(v) for v in rows[column].dropna() if str(v).strip()})


def _ordered(values: pd.Series, order: tuple[str, ...]) -> list[str]:
    """The known values in ``order`` (all of them, even when absent), then any others, sorted."""
    present = {str(v) for v in values.dropna()}
    return [*order, *sorted(present - set(order))]


def _counts_table(rows: pd.DataFrame) -> list[str]:
    """Zones as rows, tiers as columns, totals on both sides; tiers alone when the rows carry no zone."""
    tiers = rows["risk_tier"].astype(str) if "risk_tier" in rows.columns else pd.Series("-", index=rows.index)
    tier_cols = _ordered(tiers, TIER_ORDER) if "risk_tier" in rows.columns else ["-"]
    if "risk_zone" not in rows.columns:
        counts = tiers.value_counts()
        out = ["| tier | changes | share |", "|---|---:|---:|"]
        out += [f"| {_escape(t)} | {int(counts.get(t, 0))} | {_share(int(counts.get(t, 0)), len(rows))} |"
                for t in tier_cols]
        return out
    zones = rows["risk_zone"].astype(str)
    table = pd.crosstab(zones, tiers)
    out = ["| zone | " + " | ".join(_escape(t) for t in tier_cols) + " | total | share |",
           "|---|" + "---:|" * (len(tier_cols) + 2)]
    for z in _ordered(zones, ZONE_ORDER):
        cells = [int(table.at[z, t]) if z in table.index and t in table.columns else 0 for t in tier_cols]
        out.append(f"| {_escape(z)} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} | "
                   f"{_share(sum(cells), len(rows))} |")
    totals = [int((tiers == t).sum()) for t in tier_cols]
    out.append("| **total** | " + " | ".join(map(str, totals)) + f" | {len(rows)} | 100% |")
    return out


def _share(k: int, n: int) -> str:
    return f"{100 * k / n:.0f}%" if n else "-"


def _riskiest(rows: pd.DataFrame, top_n: int) -> pd.DataFrame:
    key = next((c for c in ("risk_score", "risk_percentile") if c in rows.columns), None)
    if key is None or top_n <= 0:
        return rows.head(max(top_n, 0))
    order = pd.to_numeric(rows[key], errors="coerce")
    return rows.assign(_key=order).sort_values("_key", ascending=False, kind="stable", na_position="last") \
        .drop(columns="_key").head(top_n)


def _top_table(top: pd.DataFrame, justification_chars: int) -> list[str]:
    columns: list[tuple[str, str, Any]] = [
        ("change", "_id", lambda v: _short_id(v)),
        ("message", "message", lambda v: _clip(_first_line(v), MESSAGE_CHARS)),
        ("score", "risk_score", lambda v: _number(v, "{:.4f}")),
        ("percentile", "risk_percentile", lambda v: _number(v, "{:.1f}")),
        ("zone", "risk_zone", lambda v: _clip(v, 20)),
        ("tier", "risk_tier", lambda v: _clip(v, 20)),
        ("justification", "justification", lambda v: _clip(v, justification_chars)),
    ]
    shown = [(name, col, fmt) for name, col, fmt in columns if col in top.columns]
    out = ["| # | " + " | ".join(name for name, _, _ in shown) + " |",
           "|---:|" + "".join("---:|" if col in ("risk_score", "risk_percentile") else "---|" for _, col, _ in shown)]
    for rank, (_, row) in enumerate(top.iterrows(), start=1):
        out.append(f"| {rank} | " + " | ".join(fmt(row[col]) for _, col, fmt in shown) + " |")
    return out


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _first_line(v: Any) -> Any:
    if _missing(v):
        return v
    return next((line for line in str(v).splitlines() if line.strip()), "")


def _number(v: Any, fmt: str) -> str:
    x = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
    return "-" if pd.isna(x) else fmt.format(float(x))


def _short_id(v: Any) -> str:
    """A full git hash as its first 12 characters (still a unique prefix in practice); other ids as they are."""
    if _missing(v):
        return "-"
    text = str(v).strip()
    if _GIT_HASH.fullmatch(text):
        return _code(text[:12])
    return _clip(text, ID_CHARS)


def _clip(v: Any, limit: int) -> str:
    """One line, at most ``limit`` characters (``…`` marks a cut), escaped for a table cell."""
    if _missing(v):
        return "-"
    text = _SPACE.sub(" ", str(v)).strip()
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return _escape(text) or "-"


def _code(text: str) -> str:
    """Inline code on one line (a backtick in the text would end the span)."""
    return "`" + _SPACE.sub(" ", text).replace("`", "'") + "`"


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", " ").replace("\n", " "))
