"""Mine a local git repository into the Kamei et al. (2013) change metrics, labelled by SZZ.

One row per non-merge commit reachable from ``HEAD``, in the k-feature format of the public ISSTA'21 data
(:data:`CHANGE_COLUMNS`), plus the commit message and a compact diff summary for the model's prompt.

Choices, and why:

- **Which commits.** Every non-merge commit reachable from ``HEAD``, oldest first in topological order (PyDriller's
  ``order="topo-order"``). Merges are skipped: their changes are already counted in the commits they merge, and
  PyDriller reports no modified files for them. A first-parent walk was not used because it would drop the commits
  of every merged branch along with the merge. Commits that change no file (``--allow-empty``) are skipped too.
- **Dates.** ``date`` is the committer date (when the change landed in this history, which is what a time split
  must follow); ages and recent experience use the same clock. Rows are sorted by ``date`` (stable).
- **Metrics** (computed in one pass over the commits with per-file and per-author history, so the cost is
  O(commits x files) plus one blob read per touched file for ``lt``):
  ``ns`` top-level directories touched (a file at the root counts as the subsystem ``.``); ``nd`` distinct parent
  directories; ``nf`` files; ``entrophy`` the plain Shannon entropy in bits of the distribution of modified lines
  (added + deleted) over the files, not normalised, as in the ISSTA'21 data (its values exceed 1); ``la``/``ld`` lines
  added/deleted; ``lt`` lines of the touched files before the change (sum; 0 for new or binary files); ``fix`` the
  message matches a fix pattern or an incident/issue id; ``ndev`` distinct authors of earlier changes to the touched
  files; ``age`` mean days since each touched file last changed (files without history are left out; 0 when none has
  one); ``nuc`` distinct earlier changes to the touched files; ``exp`` the author's earlier changes; ``rexp`` the same
  weighted by ``1 / (years_ago + 1)`` with fractional years; ``sexp`` the author's earlier changes touching any of the
  change's subsystems. History follows renames. The history metrics count *earlier* changes only, as the brief and
  Kamei et al.'s text define them; the ISSTA'21 files appear to include the change itself (their minimum ``exp``,
  ``ndev``, ``sexp`` and ``rexp`` are 1), so expect the mined values to be lower by about one.
- **SZZ.** For each fixing commit, the lines it deletes or changes are blamed in its parent with
  PyDriller's ``Git.get_commits_last_modified_lines`` (``git blame -w``; blank and comment-only lines are ignored by
  PyDriller). The commits blamed get ``bug=1``. Blame runs on the parent, so a blamed commit is always an ancestor of
  the fix, never a later change. Fixes that only add lines blame nothing (the usual SZZ limit).

Note: PyDriller sets ``blame.markUnblamableLines=true`` in the mined repository's own git config when it opens it.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from riskft_pipeline.core.csvio import FORMULA_START
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_write

METRIC_COLUMNS: tuple[str, ...] = (
    "ns", "nd", "nf", "entrophy", "la", "ld", "lt", "fix", "ndev", "age", "nuc", "exp", "rexp", "sexp",
)
CHANGE_COLUMNS: tuple[str, ...] = ("_id", "date", "bug", *METRIC_COLUMNS, "message", "diff_summary")
FLOAT_COLUMNS: tuple[str, ...] = ("entrophy", "age", "rexp")

DEFAULT_FIX_PATTERNS: tuple[str, ...] = (
    r"fix(?:e[sd]|ing)?",
    r"bug(?:s|fix(?:es)?)?",
    r"defects?",
    r"patch(?:e[sd]|ing)?",
    r"hotfix(?:e[sd])?",
    r"crash(?:e[sd]|ing)?",
    r"faults?",
    r"regressions?",
)
"""Words (whole words, any case) that mark a commit message as a bug fix."""

MESSAGE_CHARS = 200
DIFF_SUMMARY_CHARS = 300
SECONDS_PER_DAY = 86_400.0
DAYS_PER_YEAR = 365.25
ROOT_SUBSYSTEM = "."
_TRAILER = re.compile(r"^[A-Za-z][\w-]*-(?:by|id|Id|ID):\s")
_FORMULA_RE = re.compile(FORMULA_START)
_KIND_LETTER = {"ADD": "A", "DELETE": "D", "MODIFY": "M", "RENAME": "R", "COPY": "C"}


def fix_regex(fix_patterns: Sequence[str], incident_id_pattern: str | None = None) -> re.Pattern[str]:
    """One case-insensitive regex: any fix word (whole word) or any incident/issue id (as given, e.g. ``INC\\d{7}``)."""
    parts = [rf"\b(?:{'|'.join(fix_patterns)})\b"] if fix_patterns else []
    if incident_id_pattern:
        parts.append(f"(?:{incident_id_pattern})")
    if not parts:
        return re.compile(r"(?!)")  # matches nothing: no way to recognise a fix was given
    return re.compile("|".join(parts), re.IGNORECASE)


@dataclass(frozen=True)
class _FileChange:
    """What one commit did to one file, reduced to what the metrics need."""

    path: str
    old_path: str | None
    kind: str
    added: int
    deleted: int


class _Timeline:
    """A growable float array: an author's change times, so ``rexp`` is one vectorised sum instead of a loop."""

    def __init__(self) -> None:
        self._data = np.empty(16, dtype=float)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, value: float) -> None:
        if self._n == len(self._data):
            self._data = np.concatenate([self._data, np.empty(len(self._data), dtype=float)])
        self._data[self._n] = value
        self._n += 1

    def recent_weight(self, now: float) -> float:
        years = np.maximum(now - self._data[: self._n], 0.0) / (SECONDS_PER_DAY * DAYS_PER_YEAR)
        return float(np.sum(1.0 / (years + 1.0)))


@dataclass
class _History:
    """Per-file and per-author history of the commits seen so far (all strictly earlier than the current one)."""

    last_time: dict[str, float] = field(default_factory=dict)
    devs: dict[str, set[str]] = field(default_factory=dict)
    changes: dict[str, set[int]] = field(default_factory=dict)
    author_times: dict[str, _Timeline] = field(default_factory=dict)
    author_subsystem: dict[tuple[str, str], set[int]] = field(default_factory=dict)

    def follow_renames(self, files: Iterable[_FileChange]) -> None:
        """A renamed file keeps its history under the new path."""
        for f in files:
            if f.kind == "RENAME" and f.old_path and f.old_path != f.path:
                for table in (self.last_time, self.devs, self.changes):
                    if f.old_path in table:
                        table[f.path] = table.pop(f.old_path)

    def metrics(self, paths: list[str], subsystems: set[str], author: str, when: float) -> dict[str, Any]:
        ages = [max(when - self.last_time[p], 0.0) / SECONDS_PER_DAY for p in paths if p in self.last_time]
        timeline = self.author_times.get(author)
        return {
            "ndev": len(_union(self.devs.get(p, ()) for p in paths)),
            "age": float(np.mean(ages)) if ages else 0.0,
            "nuc": len(_union(self.changes.get(p, ()) for p in paths)),
            "exp": len(timeline) if timeline else 0,
            "rexp": timeline.recent_weight(when) if timeline else 0.0,
            "sexp": len(_union(self.author_subsystem.get((author, s), ()) for s in subsystems)),
        }

    def record(self, index: int, paths: list[str], subsystems: set[str], author: str, when: float) -> None:
        for p in paths:
            self.last_time[p] = when
            self.devs.setdefault(p, set()).add(author)
            self.changes.setdefault(p, set()).add(index)
        self.author_times.setdefault(author, _Timeline()).append(when)
        for s in subsystems:
            self.author_subsystem.setdefault((author, s), set()).add(index)


def _union(sets: Iterable[Iterable[Any]]) -> set[Any]:
    out: set[Any] = set()
    for s in sets:
        out.update(s)
    return out


def subsystem_of(path: str) -> str:
    parts = PurePosixPath(path).parts
    return parts[0] if len(parts) > 1 else ROOT_SUBSYSTEM


def directory_of(path: str) -> str:
    return str(PurePosixPath(path).parent)


def entropy(modified_lines: Sequence[int]) -> float:
    """Shannon entropy (bits) of the share of modified lines per file; 0 for one file or no modified line."""
    total = float(sum(modified_lines))
    if total <= 0:
        return 0.0
    return float(-sum((n / total) * math.log2(n / total) for n in modified_lines if n > 0)) + 0.0


def count_lines(content: bytes | None) -> int:
    """Lines of a file's content; 0 for a missing or binary (NUL-containing) blob."""
    if not content or b"\0" in content:
        return 0
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)


def short_message(message: str, limit: int = MESSAGE_CHARS) -> str:
    """The message as one line for a prompt: trailers (``Signed-off-by:``, ``Change-Id:``) dropped, whitespace
    collapsed, trimmed to ``limit`` characters."""
    lines = [ln.strip() for ln in message.splitlines()]
    kept = " ".join(ln for ln in lines if ln and not _TRAILER.match(ln))
    text = re.sub(r"\s+", " ", kept).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def diff_summary(files: Sequence[_FileChange], limit: int = DIFF_SUMMARY_CHARS) -> str:
    """``M src/a.py +12 -3; A docs/x.md +40 -0``, largest churn first, trimmed to ``limit`` characters with a
    count of the files left out (the largest file is always named)."""
    ordered = sorted(files, key=lambda f: (-(f.added + f.deleted), f.path))
    entries = []
    for f in ordered:
        name = f"{f.old_path} -> {f.path}" if f.kind == "RENAME" and f.old_path else f.path
        entries.append(f"{_KIND_LETTER.get(f.kind, '?')} {name} +{f.added} -{f.deleted}")
    kept: list[str] = []
    length = 0
    for i, entry in enumerate(entries):
        grown = length + (2 if kept else 0) + len(entry)
        rest = len(entries) - i - 1
        tail = len(f"; … +{rest} more files") if rest else 0
        if kept and grown + tail > limit:
            return "; ".join(kept) + f"; … +{len(entries) - i} more files"
        kept.append(entry)
        length = grown
    return "; ".join(kept)


def _file_changes(commit: Any) -> tuple[list[_FileChange], list[Any]]:
    """The commit's file changes (and PyDriller's ModifiedFile objects, for lt and SZZ)."""
    mods = list(commit.modified_files)
    files = [
        _FileChange(
            path=_posix(m.new_path or m.old_path),
            old_path=_posix(m.old_path) if m.old_path else None,
            kind=m.change_type.name,
            added=m.added_lines,
            deleted=m.deleted_lines,
        )
        for m in mods
    ]
    return files, mods


def _posix(path: str) -> str:
    return str(path).replace("\\", "/")


def _lines_before(mods: Sequence[Any]) -> int:
    return sum(count_lines(m.content_before) for m in mods if m.change_type.name != "ADD")


def _author_id(commit: Any) -> str:
    return (commit.author.email or commit.author.name or "unknown").strip().lower()


def _szz_blame(git: Any, commit: Any, mods: Sequence[Any]) -> set[str]:
    """Hashes of the commits that last touched the lines this fix deletes or changes (blame of its parent)."""
    blamed: set[str] = set()
    for mod in mods:
        if mod.deleted_lines == 0 or mod.change_type.name == "ADD":
            continue
        for hashes in git.get_commits_last_modified_lines(commit, modification=mod).values():
            blamed.update(hashes)
    return blamed


def _open_git(repo_path: str | Path) -> Any:
    from git.exc import InvalidGitRepositoryError, NoSuchPathError
    from pydriller import Git

    path = Path(repo_path).expanduser()
    try:
        return Git(str(path))
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise InputError(f"not a git repository: {path}") from None


def _commit_count(git: Any) -> int | None:
    from git.exc import GitCommandError

    try:
        return int(git.repo.git.rev_list("--count", "HEAD"))
    except GitCommandError:  # an empty repository has no HEAD: the walk yields nothing and the bar has no total
        return None


def _as_utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


def mine_repository(
    repo_path: str | Path,
    *,
    fix_patterns: Sequence[str] = DEFAULT_FIX_PATTERNS,
    incident_id_pattern: str | None = None,
    since: datetime | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Mine ``repo_path`` into one row per change (:data:`CHANGE_COLUMNS`), labelled by SZZ.

    ``incident_id_pattern`` (a regex such as ``INC\\d{7}`` or ``#\\d+``) also marks a commit as a fix when its message
    cites an incident or issue. ``since`` (naive = UTC) limits the *rows* to changes committed from then on; the walk
    still reads the earlier history so the history and experience metrics stay true. A summary of the walk
    (commits, merges and empty commits skipped, fixes, bug-inducing changes, blamed commits outside the rows) is in
    ``df.attrs["mining"]``. Raises :class:`InputError` when ``repo_path`` is not a git repository.
    """
    from pydriller import Repository
    from tqdm.auto import tqdm

    git = _open_git(repo_path)
    is_fix = fix_regex(fix_patterns, incident_id_pattern)
    start = _as_utc(since)
    history = _History()
    rows: list[dict[str, Any]] = []
    row_of: dict[str, int] = {}
    blamed_all: set[str] = set()
    stats = {"commits_walked": 0, "merges_skipped": 0, "empty_skipped": 0}
    walk = Repository(str(git.path), order="topo-order").traverse_commits()
    try:
        for index, commit in enumerate(tqdm(walk, total=_commit_count(git), unit="commit", desc="mining",
                                            disable=not progress)):
            stats["commits_walked"] += 1
            if commit.merge:
                stats["merges_skipped"] += 1
                continue
            files, mods = _file_changes(commit)
            if not files:
                stats["empty_skipped"] += 1
                continue
            history.follow_renames(files)
            paths = [f.path for f in files]
            subsystems = {subsystem_of(p) for p in paths}
            author, when = _author_id(commit), commit.committer_date.timestamp()
            if start is None or commit.committer_date >= start:
                row = _change_row(commit, files, mods, history.metrics(paths, subsystems, author, when), is_fix)
                row_of[commit.hash] = len(rows)
                rows.append(row)
                if row["fix"] and commit.parents:
                    blamed_all |= _szz_blame(git, commit, mods)
            history.record(index, paths, subsystems, author, when)
    finally:
        git.clear()
    return _finish(rows, row_of, blamed_all, stats)


def _change_row(commit: Any, files: list[_FileChange], mods: list[Any], hist: dict[str, Any],
                is_fix: re.Pattern[str]) -> dict[str, Any]:
    """One output row: diffusion, size, purpose, history and experience metrics, message and diff summary."""
    paths = [f.path for f in files]
    return {
        "_id": commit.hash,
        "date": int(commit.committer_date.timestamp()),
        "bug": 0,
        "ns": len({subsystem_of(p) for p in paths}),
        "nd": len({directory_of(p) for p in paths}),
        "nf": len(files),
        "entrophy": entropy([f.added + f.deleted for f in files]),
        "la": sum(f.added for f in files),
        "ld": sum(f.deleted for f in files),
        "lt": _lines_before(mods),
        "fix": int(bool(is_fix.search(commit.msg or ""))),
        **hist,
        "message": short_message(commit.msg or ""),
        "diff_summary": diff_summary(files),
    }


def _finish(rows: list[dict[str, Any]], row_of: dict[str, int], blamed: set[str],
            stats: dict[str, int]) -> pd.DataFrame:
    """Apply the SZZ labels, type the columns, sort by date, attach the walk summary."""
    for h in blamed & row_of.keys():
        rows[row_of[h]]["bug"] = 1
    df = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
    for col in CHANGE_COLUMNS:
        if col in FLOAT_COLUMNS:
            df[col] = df[col].astype(float)
        elif col not in ("_id", "message", "diff_summary"):
            df[col] = df[col].astype("int64")
    df = df.sort_values("date", kind="stable").reset_index(drop=True)
    df.attrs["mining"] = {
        **stats,
        "rows": len(df),
        "fixes": int(df["fix"].sum()),
        "bug_inducing": int(df["bug"].sum()),
        "blamed_outside_rows": len(blamed - row_of.keys()),
    }
    return df


def escape_formula(value: Any) -> Any:
    """Prefix ``'`` to text a spreadsheet would run as a formula (starts with ``= + - @``, tab or CR, also after
    leading blanks): the same rule as every other CSV the project writes."""
    if isinstance(value, str) and _FORMULA_RE.match(value):
        return "'" + value
    return value


def write_changes_csv(df: pd.DataFrame, path: str | Path) -> int:
    """Write changes atomically as CSV: :data:`CHANGE_COLUMNS` first (as far as present, ``_id``/``date``/``bug``
    and the metrics required), then any other columns (e.g. ``label_source``). Text cells that a spreadsheet would
    evaluate are escaped. Returns the number of rows written."""
    required = [c for c in CHANGE_COLUMNS if c not in ("message", "diff_summary")]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"changes frame lacks column(s): {', '.join(missing)}")
    ordered = [c for c in CHANGE_COLUMNS if c in df.columns] + [c for c in df.columns if c not in CHANGE_COLUMNS]
    out = df[ordered].copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(escape_formula)
    out.columns = [escape_formula(str(c)) for c in out.columns]  # a hostile header is a cell too
    with atomic_write(path) as f:
        # quote every text cell: a bare CR inside a message must not split the row when read back
        out.to_csv(f, index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    return len(out)
