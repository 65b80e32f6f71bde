"""Label changes from incidents: ServiceNow's "caused by change" link, for users whose outcome is an incident rather
than a later bug fix.

An incidents CSV (``number, opened_at, short_description, caused_by_change, ...``) names, per incident, the change
that caused it: a commit hash, a hash prefix of at least :data:`MIN_PREFIX` hex digits, or a change-request number
(``CHG0012345``) that a column of the changes table maps to a change. Several ids in one cell (comma, semicolon or
space separated) are all used. Every incident is either matched to at least one change or listed as unmatched with
its reason; none is dropped silently. That includes lines of the incidents file that do not fit its header: the
reader keeps them, flagged in :data:`MALFORMED_COLUMN`, and they are listed as unmatched with the reason
``malformed_row`` (their cells are not where the header says, so no change is labelled from them).
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskft_pipeline.core.csvio import read_csv_text, with_bad_rows
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.features import MALFORMED_COLUMN

NUMBER_COL = "number"
DEFAULT_CHANGE_ID_COL = "caused_by_change"
MIN_PREFIX = 7
MALFORMED = "malformed_row"
LABEL_SOURCES: tuple[str, ...] = ("none", "szz", "incident", "both")
_HEX = re.compile(r"^[0-9a-f]+$")
_SPLIT = re.compile(r"[,;\s]+")


def read_incidents_csv(path: str | Path, *, change_id_col: str = DEFAULT_CHANGE_ID_COL) -> pd.DataFrame:
    """Read an incidents CSV as strings. Raises :class:`InputError` (naming the problem) for a missing, empty,
    binary or header-less file, or one without ``number`` or the change-id column.

    Lines that do not fit the header are kept, flagged in :data:`MALFORMED_COLUMN` (present only when there are
    such lines); a file that is not UTF-8 is read as Latin-1. ``df.attrs`` records the ``encoding`` and the reader's
    ``warnings``."""
    read = read_csv_text(path, what="incidents file", sep=",")
    df = with_bad_rows(read, MALFORMED_COLUMN)
    missing = [c for c in (NUMBER_COL, change_id_col) if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing required column(s): {', '.join(missing)} "
                         f"(found: {', '.join(c for c in df.columns if c != MALFORMED_COLUMN) or 'none'})")
    warnings = list(read.warnings)
    if read.bad_lines:
        warnings.append(f"{len(read.bad_lines)} malformed row(s) do not match the header")
    df.attrs.update(encoding=read.encoding, warnings=warnings)
    return df


def malformed_rows(df: pd.DataFrame) -> pd.Series:
    """True for the rows the reader flagged as not fitting the header (all False for a frame without the flag)."""
    if MALFORMED_COLUMN not in df.columns:
        return pd.Series(False, index=df.index)
    return df[MALFORMED_COLUMN].astype(str) != ""


def _change_ids(cell: Any) -> list[str]:
    text = "" if cell is None or (isinstance(cell, float) and pd.isna(cell)) else str(cell)
    return [t for t in _SPLIT.split(text.strip()) if t]


class _Resolver:
    """Finds the rows (positions) of ``changes`` a change id refers to: full hash, unique prefix, or mapped change
    number. Positions, not index labels, so a frame with a repeated index still labels exactly the rows meant."""

    def __init__(self, changes: pd.DataFrame, id_col: str, change_number_col: str | None) -> None:
        self._ids = changes[id_col].astype(str).str.strip().str.lower()
        self._sorted = sorted(zip(self._ids, range(len(changes))))
        self._numbers: dict[str, list[int]] = {}
        if change_number_col:
            for pos, number in enumerate(changes[change_number_col]):
                for token in _change_ids(number):
                    self._numbers.setdefault(token.upper(), []).append(pos)

    def resolve(self, token: str) -> tuple[list[int], str]:
        """Row positions for ``token`` and, when there are none, why."""
        if token.upper() in self._numbers:
            return self._numbers[token.upper()], ""
        key = token.lower()
        if not _HEX.match(key):
            return [], "not a commit hash" + ("" if self._numbers else " (no change-number column given)")
        if len(key) < MIN_PREFIX:
            return [], f"hash prefix shorter than {MIN_PREFIX}"
        hits = self._prefix_hits(key)
        if not hits:
            return [], "no change with this id"
        if len(hits) > 1 and len(key) < 40:
            return [], f"ambiguous prefix ({len(hits)} changes)"
        return hits, ""

    def _prefix_hits(self, key: str) -> list[int]:
        start = bisect.bisect_left(self._sorted, (key,))
        hits = []
        for change_id, pos in self._sorted[start:]:
            if not change_id.startswith(key):
                break
            hits.append(pos)
        return hits


def label_from_incidents(
    changes: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    change_id_col: str = DEFAULT_CHANGE_ID_COL,
    id_col: str = "_id",
    change_number_col: str | None = None,
    keep_szz: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Mark the changes that caused an incident as ``bug=1``; record where each label came from.

    ``changes`` needs ``id_col`` (the commit hash) and, for ``keep_szz``, may carry ``bug`` (the SZZ or published
    label; missing = 0). ``change_number_col`` names a column of ``changes`` holding change-request numbers
    (``CHG...``) that incidents may cite instead of a hash. With ``keep_szz=False`` the label is the incidents alone.
    ``label_source`` is ``"szz"``, ``"incident"``, ``"both"`` or ``"none"`` for the evidence that set ``bug``.

    The summary (JSON-able) has incident counts (``incidents``, ``matched``, ``unmatched``), the ``unmatched``
    incidents with their reason, ``changes_labelled`` (by incidents), ``changes_newly_labelled`` (0 -> 1),
    ``bug_rate`` and ``label_sources`` counts.
    """
    for col, frame, what in ((id_col, changes, "changes"), (NUMBER_COL, incidents, "incidents"),
                             (change_id_col, incidents, "incidents")):
        if col not in frame.columns:
            raise InputError(f"{what}: missing required column: {col}")
    if change_number_col and change_number_col not in changes.columns:
        raise InputError(f"changes: missing change-number column: {change_number_col}")

    resolver = _Resolver(changes, id_col, change_number_col)
    hit_rows: set[int] = set()
    unmatched: list[dict[str, str]] = []
    matched = 0
    for number, cell, malformed in zip(incidents[NUMBER_COL], incidents[change_id_col], malformed_rows(incidents)):
        if malformed:
            unmatched.append({"number": str(number), change_id_col: str(cell), "reason": MALFORMED})
            continue
        rows, reasons = _match_incident(resolver, cell)
        if rows:
            matched += 1
            hit_rows.update(rows)
        else:
            unmatched.append({"number": str(number), change_id_col: str(cell), "reason": "; ".join(reasons)})

    return _apply_labels(changes, hit_rows, keep_szz, len(incidents), matched, unmatched)


def _match_incident(resolver: _Resolver, cell: Any) -> tuple[list[int], list[str]]:
    tokens = _change_ids(cell)
    if not tokens:
        return [], ["no change id"]
    rows: list[int] = []
    reasons: list[str] = []
    for token in tokens:
        found, why = resolver.resolve(token)
        rows.extend(found)
        if why:
            reasons.append(f"{token}: {why}")
    return rows, reasons


def _apply_labels(changes: pd.DataFrame, hit_rows: set[int], keep_szz: bool, n_incidents: int, matched: int,
                  unmatched: list[dict[str, str]]) -> tuple[pd.DataFrame, dict[str, Any]]:
    out = changes.copy()
    prior = (pd.to_numeric(out["bug"], errors="coerce").fillna(0).to_numpy() == 1
             if "bug" in out.columns else np.zeros(len(out), dtype=bool))
    szz = prior if keep_szz else np.zeros(len(out), dtype=bool)
    incident = np.zeros(len(out), dtype=bool)
    incident[list(hit_rows)] = True
    out["bug"] = (szz | incident).astype(int)
    out["label_source"] = np.select([szz & incident, szz, incident], ["both", "szz", "incident"], default="none")
    summary = {
        "incidents": n_incidents,
        "matched": matched,
        "unmatched": len(unmatched),
        "unmatched_incidents": unmatched,
        "changes": len(out),
        "changes_labelled": int(incident.sum()),
        "changes_newly_labelled": int((incident & ~prior).sum()),
        "bug_rate": float(out["bug"].mean()) if len(out) else 0.0,
        "label_sources": {s: int((out["label_source"] == s).sum()) for s in LABEL_SOURCES},
    }
    return out, summary
