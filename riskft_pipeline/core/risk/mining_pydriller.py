"""The first miner, on PyDriller: kept as the reference the git-CLI miner (:mod:`.mining`) is checked against (the
tests and ``benchmarks/bench_mining.py`` run both on the same repositories and compare every column).

Its known limits, each fixed in :func:`riskft_pipeline.core.risk.mining.mine_repository`: ~50 commits/s on one core
(a Python diff object per commit, a GitPython commit lookup per blamed line); a submodule entry whose commit is not
in the repository stops it with ``ValueError: SHA ... could not be resolved`` (pallets/flask); a file renamed without
change (same blob) has no "before" content in PyDriller, so its lines are missing from ``lt``.

Note: PyDriller sets ``blame.markUnblamableLines=true`` in the mined repository's own git config when it opens it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.mining import (
    CHANGE_COLUMNS,
    DEFAULT_FIX_PATTERNS,
    FLOAT_COLUMNS,
    _as_utc,
    _FileChange,
    _History,
    count_lines,
    diff_summary,
    directory_of,
    entropy,
    fix_regex,
    short_message,
    subsystem_of,
)


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


def mine_repository_pydriller(
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


def explain_differences(reference: pd.DataFrame, mined: pd.DataFrame, repo_path: str | Path) -> dict[str, Any]:
    """Compare this miner's rows (``reference``) with the git-CLI miner's (``mined``) cell by cell, and sort every
    difference into the known PyDriller quirk or ``unexplained`` (which must stay empty): ``lt_pure_rename``,
    PyDriller reads no "before" content for a file renamed without change (same blob), so it counts 0 lines
    where the file had lines; explained when the difference is exactly those files' lines.
    """
    from riskft_pipeline.core.risk.gitlog import BlobReader, open_repository

    repo = open_repository(repo_path)
    ref = reference.set_index("_id")
    new = mined.set_index("_id").loc[ref.index]
    out: dict[str, Any] = {"rows": len(ref), "ids_equal": list(reference["_id"]) == list(mined["_id"]),
                           "cells_compared": 0, "cells_equal": 0, "lt_pure_rename": [], "unexplained": []}
    blobs = BlobReader(repo)
    try:
        for col in CHANGE_COLUMNS[1:]:
            a, b = ref[col], new[col]
            same = (a - b).abs() <= 1e-9 * (1 + a.abs()) if col in FLOAT_COLUMNS else (a == b)
            out["cells_compared"] += len(a)
            out["cells_equal"] += int(same.sum())
            for h in same.index[~same.to_numpy()]:
                kind = _classify(repo, blobs, h, col, ref.loc[h], new.loc[h])
                out[kind].append({"_id": h, "column": col, "reference": _plain(a.loc[h]), "mined": _plain(b.loc[h])})
    finally:
        blobs.close()
    return out


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _classify(repo: Path, blobs: Any, h: str, col: str, ref_row: pd.Series, new_row: pd.Series) -> str:
    from riskft_pipeline.core.risk.gitlog import iter_log

    commit = next(iter_log(repo, h, stop=[p for p in _parents(repo, h)]))
    if col == "lt":
        pure = sum(blobs.line_count(e.old_blob, count_lines) for e in commit.files
                   if e.kind == "RENAME" and e.old_blob == e.new_blob)
        return "lt_pure_rename" if pure and new_row["lt"] - ref_row["lt"] == pure else "unexplained"
    return "unexplained"


def _parents(repo: Path, h: str) -> list[str]:
    from riskft_pipeline.core.risk.gitlog import run_git

    return run_git(repo, "rev-list", "--parents", "-n", "1", h).stdout.decode().split()[1:]
