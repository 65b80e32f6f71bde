"""Change metrics: read a k-feature CSV, validate every row, quarantine what cannot be trusted.

The format is the one of the public ISSTA'21 just-in-time defect data (and of :mod:`riskft_pipeline.core.risk.mining`):
``_id, date, bug`` plus the 14 Kamei et al. change metrics in :data:`FEATURES`, optionally ``message`` and
``diff_summary`` text columns when changes were mined from git.

Two traps in the public files are handled here once, so no later step can fall into them: the column ``__`` is an
exact copy of the label and the unnamed first column is a row index; both are dropped on read and never become
features (every consumer selects :data:`FEATURES` explicitly).

Every input row ends up either in ``clean`` or in ``quarantine`` (with a ``reason``): ``raw == clean + quarantined``.
A row with an empty ``bug`` is ``unlabelled`` (the miner's maturity window: a recent change whose fix may not have
happened yet) and is quarantined under that reason, so it is never trained or evaluated on as clean.
That includes the lines of the file that do not fit its header (ragged rows): the reader keeps them, flagged in
:data:`MALFORMED_COLUMN`, and :func:`clean_changes` quarantines them as ``malformed_row``. Decoding and parsing are
:mod:`riskft_pipeline.core.csvio`'s, shared with the ticket reader (a file that is not UTF-8 is read as Latin-1).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskft_pipeline.core.csvio import read_csv_text, with_bad_rows
from riskft_pipeline.core.errors import InputError

FEATURES: tuple[str, ...] = (
    "ns", "nd", "nf", "entrophy",  # diffusion: subsystems, directories, files, entropy (the public files' spelling)
    "la", "ld", "lt",  # size: lines added, deleted, lines in the touched files before the change
    "fix",  # purpose: the change is a bug fix
    "ndev", "age", "nuc",  # history: developers who touched the files, mean age (days), unique prior changes
    "exp", "rexp", "sexp",  # experience: author's prior changes, recent (weighted), in the subsystem
)
COUNT_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f != "fix")
ID, DATE, LABEL = "_id", "date", "bug"
REQUIRED: tuple[str, ...] = (ID, DATE, LABEL, *FEATURES)
TEXT_COLUMNS: tuple[str, ...] = ("message", "diff_summary")
LEAKY_COLUMNS: tuple[str, ...] = ("__",)
"""Columns that copy the label in the public data: dropped on read, never a feature."""
MALFORMED_COLUMN = "_malformed_row"
"""Set to ``"1"`` by :func:`read_changes_csv` on the lines that did not fit the header (their cells mapped onto it);
:func:`clean_changes` quarantines those rows as ``malformed_row`` and never passes the column on."""

_INDEX_COLUMN = re.compile(r"^(Unnamed: \d+|index)$")
_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}

# Reasons, in the order they are checked; a row is quarantined under the first one that applies.
REASONS: tuple[str, ...] = (
    "malformed_row",
    "missing_id",
    "bad_date",
    "future_date",
    "nonfinite_metric",
    "negative_metric",
    "unlabelled",
    "bad_label",
    "bad_fix",
    "duplicate_row",
    "conflicting_duplicate_id",
)


@dataclass
class CleanResult:
    """``clean`` (typed, sorted by date), ``quarantine`` (raw values + ``reason``) and a JSON-able ``summary``."""

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def read_changes_csv(path: str | Path, *, required: tuple[str, ...] = REQUIRED) -> pd.DataFrame:
    """Read a change-metrics CSV as raw strings (cleaning does the typing, so one bad cell quarantines a row instead
    of failing the file). Raises :class:`InputError` for a file that cannot be used at all: missing, empty, binary,
    no header, a ``required`` column missing, or no rows.

    Lines that do not fit the header are kept, flagged in :data:`MALFORMED_COLUMN` (the column exists only when
    there are such lines); a file that is not UTF-8 is read as Latin-1. ``df.attrs`` records the ``encoding`` and
    the reader's ``warnings``; :func:`clean_changes` copies both into its summary.
    """
    read = read_csv_text(path, what="changes file", sep=",")  # "NA" may be a message; "" is missing
    df = drop_non_features(with_bad_rows(read, MALFORMED_COLUMN))
    check_columns(df, source=str(path), required=required)
    if df.empty:
        raise InputError(f"{path}: the CSV has a header but no rows")
    warnings = list(read.warnings)
    if read.bad_lines:
        warnings.append(f"{len(read.bad_lines)} malformed row(s) do not match the header: quarantined")
    df.attrs.update(encoding=read.encoding, warnings=warnings)
    return df


def drop_non_features(df: pd.DataFrame) -> pd.DataFrame:
    """Drop the label copy ``__`` and unnamed index columns: they must never reach a model."""
    drop = [c for c in df.columns if c in LEAKY_COLUMNS or _INDEX_COLUMN.match(str(c)) or str(c).strip() == ""]
    return df.drop(columns=drop)


def check_columns(df: pd.DataFrame, source: str = "changes", required: tuple[str, ...] = REQUIRED) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{source}: missing required column(s): {', '.join(missing)} "
                         f"(found: {', '.join(map(str, df.columns)) or 'none'})")


def parse_dates(values: pd.Series) -> pd.Series:
    """Unix seconds (float) from unix-second numbers or ISO-8601 strings; NaN where neither parses."""
    numeric = pd.to_numeric(values, errors="coerce")
    out = numeric.astype(float)
    text = values[numeric.isna() & values.notna()]
    if len(text):
        parsed = pd.to_datetime(text.astype(str), errors="coerce", utc=True, format="ISO8601")
        seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        out.loc[text.index] = seconds
    return out.where(np.isfinite(out))


def _parse_flag(values: pd.Series, accepted: tuple[set[str], set[str]]) -> pd.Series:
    """0/1 (Int) for recognised spellings, <NA> for anything else."""
    true, false = accepted
    norm = values.astype(str).str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    out[norm.isin(true)] = 1
    out[norm.isin(false)] = 0
    out[values.isna()] = pd.NA
    return out


def _typed(raw: pd.DataFrame, now: float) -> tuple[pd.DataFrame, pd.Series]:
    """The typed frame and, per row, the first reason it cannot be used ("" when it can)."""
    reason = pd.Series("", index=raw.index, dtype=object)

    def flag(mask: pd.Series, why: str) -> None:
        reason[mask.fillna(True).astype(bool) & (reason == "")] = why

    ids = raw[ID].astype("string").str.strip()
    flag(ids.isna() | (ids == ""), "missing_id")
    dates = parse_dates(raw[DATE])
    flag(dates.isna(), "bad_date")
    flag(dates > now, "future_date")
    metrics = raw[list(COUNT_FEATURES)].apply(pd.to_numeric, errors="coerce").astype(float)
    flag(~np.isfinite(metrics).all(axis=1), "nonfinite_metric")
    flag((metrics < 0).any(axis=1), "negative_metric")
    bug = _parse_flag(raw[LABEL], ({"1", "1.0"}, {"0", "0.0"}))
    flag(raw[LABEL].isna() | (raw[LABEL].astype(str).str.strip() == ""), "unlabelled")  # too recent to know
    flag(bug.isna(), "bad_label")
    fix = _parse_flag(raw["fix"], (_TRUE, _FALSE))
    flag(fix.isna(), "bad_fix")

    typed = pd.DataFrame({ID: ids, DATE: dates, LABEL: bug}, index=raw.index)
    for col in FEATURES:
        typed[col] = fix if col == "fix" else metrics[col]
    for col in TEXT_COLUMNS:
        if col in raw.columns:
            typed[col] = raw[col].fillna("").astype(str)
    return typed, reason


def _flag_duplicates(typed: pd.DataFrame, reason: pd.Series) -> None:
    """Exact repeats of an ``_id`` keep their first copy; copies that disagree are all quarantined (which one is
    right cannot be known, and keeping either could put a wrong label into training)."""
    ok = reason == ""
    candidates = typed[ok]
    dup_ids = candidates[ID][candidates[ID].duplicated(keep=False)]
    if dup_ids.empty:
        return
    content = candidates.loc[dup_ids.index].astype(str).agg("\x1f".join, axis=1)
    for idx in dup_ids.groupby(dup_ids).groups.values():
        if content.loc[idx].nunique() == 1:
            reason.loc[idx[1:]] = "duplicate_row"
        else:
            reason.loc[idx] = "conflicting_duplicate_id"


def clean_changes(df: pd.DataFrame, *, now: float | None = None) -> CleanResult:
    """Validate and type every row; quarantine the unusable ones with a reason; sort the rest by date (stable).

    ``now`` (unix seconds, default: the current time) bounds the dates: a change from the future is a clock or
    parsing error. Rows out of date order are not errors (git histories interleave branches), they are sorted and
    counted in ``summary["out_of_order_rows"]``.
    """
    raw = drop_non_features(df).reset_index(drop=True)
    dropped = [c for c in df.columns if c not in raw.columns]
    malformed = (raw.pop(MALFORMED_COLUMN).astype(str) != "") if MALFORMED_COLUMN in raw.columns else None
    check_columns(raw)
    typed, reason = _typed(raw, time.time() if now is None else now)
    if malformed is not None:
        reason[malformed] = "malformed_row"  # the first reason: its cells are not where the header says
    _flag_duplicates(typed, reason)

    bad = reason != ""
    quarantine = raw[bad].copy()
    quarantine.insert(0, "source_row", quarantine.index)
    quarantine["reason"] = reason[bad]

    clean = typed[~bad].copy()
    clean[DATE] = clean[DATE].round().astype("int64")
    clean[LABEL] = clean[LABEL].astype(int)
    clean["fix"] = clean["fix"].astype(int)
    clean[ID] = clean[ID].astype(str)
    out_of_order = int((clean[DATE] < clean[DATE].cummax().shift(fill_value=clean[DATE].min())).sum())
    clean = clean.sort_values(DATE, kind="stable").reset_index(drop=True)

    summary = {
        "raw_rows": len(raw),
        "clean_rows": len(clean),
        "quarantined_rows": int(bad.sum()),
        "quarantine_reasons": {r: int(n) for r, n in reason[bad].value_counts().items()},
        "out_of_order_rows": out_of_order,
        "bug_rate": float(clean[LABEL].mean()) if len(clean) else float("nan"),
        "text_columns": [c for c in TEXT_COLUMNS if c in clean.columns],
        "ignored_columns": [c for c in raw.columns if c not in REQUIRED and c not in TEXT_COLUMNS],
        "dropped_columns": dropped,
        "encoding": df.attrs.get("encoding"),
        "warnings": list(df.attrs.get("warnings", [])),
    }
    assert summary["raw_rows"] == summary["clean_rows"] + summary["quarantined_rows"]
    clean = clean[[ID, DATE, LABEL, *FEATURES, *summary["text_columns"]]]
    return CleanResult(clean=clean, quarantine=quarantine.reset_index(drop=True), summary=summary)


def feature_matrix(df: pd.DataFrame) -> np.ndarray:
    """The 14 metrics, in :data:`FEATURES` order, as floats: the only way models read a change's numbers."""
    return df[list(FEATURES)].to_numpy(dtype=float)


def log1p_features(df: pd.DataFrame) -> np.ndarray:
    """``log1p`` of the 14 metrics: the transform the JIT literature applies to these heavy-tailed counts."""
    return np.log1p(np.maximum(feature_matrix(df), 0.0))
