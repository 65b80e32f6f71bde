"""Bug-fixing commits from an issue tracker: the commits whose message cites a bug's key (``PROJ-123``), the way
ApacheJIT links JIRA fixes to bugs, instead of guessing from words like "fix".

An issue export is a CSV with, per issue, its key, its type and when it was created (JIRA's CSV export names them
``Issue key``, ``Issue Type``, ``Created``; ``key``/``type``/``created`` work too, any case). Issues whose type is
one of ``bug_types`` are bugs; a commit citing at least one bug key is a bug fix, and the bug's creation date is the
report date of the SZZ date filter: a commit blamed by that fix but made after the bug was reported cannot have
caused it and is discarded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskft_pipeline.core.csvio import read_csv_text
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.features import parse_dates

KEY_COLUMNS = ("issue key", "key", "issue_key", "id")
TYPE_COLUMNS = ("issue type", "type", "issuetype", "issue_type")
CREATED_COLUMNS = ("created", "created_at", "created date", "reported", "opened_at")
DEFAULT_BUG_TYPES: tuple[str, ...] = ("bug", "defect")
DEFAULT_KEY_PATTERN = r"\b[A-Z][A-Z0-9_]*-\d+\b"


@dataclass
class IssueTracker:
    """Bug keys (upper case) with their report time (unix seconds), and the issues of other types."""

    bugs: dict[str, float]
    other: set[str] = field(default_factory=set)
    key_pattern: str = DEFAULT_KEY_PATTERN
    issues_read: int = 0
    bad_rows: int = 0

    def __post_init__(self) -> None:
        self._key = re.compile(self.key_pattern, re.IGNORECASE)

    def keys_in(self, message: str) -> list[str]:
        """Every issue key the message cites (upper case, in order, once each)."""
        return list(dict.fromkeys(k.upper() for k in self._key.findall(message or "")))

    def bug_keys(self, message: str) -> list[str]:
        return [k for k in self.keys_in(message) if k in self.bugs]

    def report_time(self, keys: Sequence[str]) -> float | None:
        """The latest report time of the cited bugs: a candidate made before it may have caused one of them."""
        times = [self.bugs[k] for k in keys if k in self.bugs]
        return max(times) if times else None


def _column(df: pd.DataFrame, names: Sequence[str], what: str, path: str | Path) -> str:
    lower = {str(c).strip().lower(): c for c in df.columns}
    for n in names:
        if n in lower:
            return lower[n]
    raise InputError(f"{path}: no {what} column (looked for: {', '.join(names)}; found: "
                     f"{', '.join(map(str, df.columns)) or 'none'})")


def read_issue_export(path: str | Path, *, bug_types: Sequence[str] = DEFAULT_BUG_TYPES,
                      key_pattern: str = DEFAULT_KEY_PATTERN) -> IssueTracker:
    """Read an issue export CSV. Raises :class:`InputError` for a missing/empty file or one lacking the key, type or
    created column. Rows without a key or with an unreadable date are counted in ``bad_rows`` and not used."""
    read = read_csv_text(path, what="issue export", sep=",")
    df = read.df
    key_col = _column(df, KEY_COLUMNS, "issue key", path)
    type_col = _column(df, TYPE_COLUMNS, "issue type", path)
    created_col = _column(df, CREATED_COLUMNS, "created date", path)
    keys = df[key_col].fillna("").astype(str).str.strip().str.upper()
    types = df[type_col].fillna("").astype(str).str.strip().str.lower()
    created = parse_dates(df[created_col])
    wanted = {t.lower() for t in bug_types}
    bugs: dict[str, float] = {}
    other: set[str] = set()
    bad = 0
    for key, kind, when in zip(keys, types, created):
        if not key or (kind in wanted and pd.isna(when)):
            bad += 1
            continue
        if kind in wanted:
            bugs[key] = min(float(when), bugs.get(key, float("inf")))
        else:
            other.add(key)
    return IssueTracker(bugs=bugs, other=other - bugs.keys(), key_pattern=key_pattern, issues_read=read.raw_rows,
                        bad_rows=bad + len(read.bad_lines))
