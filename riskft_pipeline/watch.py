"""A watched git repository keeps the change history current: the work behind the ``risk_watch_repo`` sensor and the
``risk_mine_repo`` job (:mod:`riskft_pipeline.defs.watch`). No Dagster here.

Settings (environment variables, like every other knob of the instance: set them where ``make ui`` / the Dagster
daemon starts; they are read at every tick and run):

- ``RISKFT_WATCH_REPO``: a local git repository (bare or with a work tree) whose new commits become new changes for
  the change-risk chain. **Unset (the default): nothing is watched** and the sensor skips saying so.
- ``RISKFT_WATCH_MATURITY_DAYS`` (default :data:`DEFAULT_MATURITY_DAYS`): changes made within that many days before
  the newest commit, and not blamed by a fix yet, stay unlabelled (:func:`riskft_pipeline.core.risk.mining.mine`'s
  maturity window) and are not sent to the history until they leave the window. A change sent as "clean" the day it
  was committed is relabelled when its fix lands (below), but the models trained meanwhile learnt it as clean; the
  window keeps the newest changes out of training until their fixes had time to land. ``0`` labels everything at
  once.
- ``RISKFT_WATCH_ISSUES``: an issue-tracker export CSV (key, type, created; what ``riskft risk mine --issues`` reads,
  with the same reader, :func:`riskft_pipeline.core.risk.tracker.read_issue_export`). Set, the fixes are the commits
  citing a bug's key and SZZ drops candidates made after the bug was reported; unset (the default), fixes are found
  by message patterns. A missing or malformed file, or one without a single usable bug, is an :class:`InputError`:
  the sensor's skip reason, or the mining run's failure. Keep the export current (re-export it from cron): when its
  content changes the next mine is a full one, since a new bug key can make an *old* commit a fix, which an
  incremental mine (new commits only) would miss.

:func:`mine_into_incoming` (one mine):

1. reads the previous full mine of the repository, ``$RISKFT_HOME/watch/<name>-<hash>/changes.csv`` (none the first
   time);
2. mines incrementally (``mine(..., previous=...)``): only commits after those rows get rows, metrics and SZZ blames,
   earlier rows are relabelled when a new fix blames them, and the result equals a full re-mine (a rewritten history,
   or an issue export other than the previous mine's, makes it a full mine, said in the outcome);
3. writes the rows that are new or whose label changed since the previous mine, unlabelled ones left out, into the
   incoming folder as ``changes-mined-<name>-<head>.csv``: a ``changes*.csv`` like any export, so the
   ``incoming_files`` sensor validates it, adds it to the history and requests **one** ``risk_chain`` run on the
   snapshot (the existing retraining route; nothing here trains). The file is written under a hidden temp name and
   renamed, so the incoming sensor never reads half of it;
4. then replaces the state (``changes.csv`` and ``state.json``: HEAD, rows, time). The incoming file goes first: a
   crash between the two sends the same rows again next time, which the history absorbs as duplicates; the other
   order could lose them. One mine per repository at a time (a lock in the state folder): two runs for two quick
   HEADs queue instead of both starting from the same state.

Relabelling (design): a change already in the history whose label changed (a new fix blames it; or a full re-mine,
after the issue export changed, labels it otherwise) is sent again in the next batch with its new label, and the
history **replaces** its row: for these batches (``changes-mined-*.csv``, see
:func:`riskft_pipeline.incoming.replaces_rows`) the incoming folder's "first arrival wins" becomes "last arrival
wins". So the history, and the snapshot the next ``risk_chain`` run reads, hold each change once, with its newest
label. Chosen over an append-only history read back as "the last row per commit id": the history stays one row per
key, as every reader of it (training, incident labelling, snapshots) already expects.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from riskft_pipeline import paths
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import file_lock, sha256_file, write_json
from riskft_pipeline.incoming import mined_name

if TYPE_CHECKING:
    from riskft_pipeline.core.risk.tracker import IssueTracker

REPO_ENV = "RISKFT_WATCH_REPO"
MATURITY_ENV = "RISKFT_WATCH_MATURITY_DAYS"
ISSUES_ENV = "RISKFT_WATCH_ISSUES"
DEFAULT_MATURITY_DAYS = 30.0
STATE_CSV, STATE_JSON = "changes.csv", "state.json"


def watched_repo() -> Path | None:
    """The repository named by ``RISKFT_WATCH_REPO`` (not checked), or None when unset or blank: watching is off."""
    value = os.environ.get(REPO_ENV, "").strip()
    return Path(value).expanduser() if value else None


def maturity_days() -> float:
    """``RISKFT_WATCH_MATURITY_DAYS`` (default 30); :class:`InputError` for a value that is not a number >= 0."""
    raw = os.environ.get(MATURITY_ENV, "").strip()
    if not raw:
        return DEFAULT_MATURITY_DAYS
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{MATURITY_ENV}={raw!r} is not a number of days") from None
    if not value >= 0:
        raise InputError(f"{MATURITY_ENV}={raw!r}: the maturity window must be >= 0 days")
    return value


@dataclass(frozen=True)
class IssueExport:
    """The issue export of ``RISKFT_WATCH_ISSUES``, read."""

    path: str
    sha256: str
    tracker: IssueTracker


def issue_export() -> IssueExport | None:
    """The issue export named by ``RISKFT_WATCH_ISSUES``, read as ``riskft risk mine --issues`` reads it; None when
    unset. :class:`InputError` (naming the setting) for a missing or malformed file or one without a usable bug.
    Cached on the file's size and time, so a sensor tick reads it again only when it changed."""
    value = os.environ.get(ISSUES_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    try:
        stat = path.stat()
        return _read_issues(str(path), stat.st_size, stat.st_mtime_ns)
    except FileNotFoundError:
        raise InputError(f"{ISSUES_ENV}={value}: issue export not found") from None
    except (InputError, OSError) as exc:  # the reader's messages start with the path: said once
        raise InputError(f"{ISSUES_ENV}={value}: {str(exc).removeprefix(f'{path}: ')}") from None


@functools.lru_cache(maxsize=4)
def _read_issues(path: str, size: int, mtime_ns: int) -> IssueExport:
    from riskft_pipeline.core.risk.tracker import DEFAULT_BUG_TYPES, read_issue_export

    tracker = read_issue_export(path)
    if not tracker.bugs:
        raise InputError(f"no issue of type {'/'.join(DEFAULT_BUG_TYPES)} with a created date ({tracker.issues_read} "
                         f"rows, {tracker.bad_rows} unusable): every change would be labelled clean")
    return IssueExport(path, sha256_file(Path(path)), tracker)


def head_of(repo: Path) -> str | None:
    """The full hash of the repository's HEAD (None for a repository without commits); :class:`InputError` when
    ``repo`` is not a git repository. Two ``git`` calls: cheap enough for every sensor tick."""
    from riskft_pipeline.core.risk.gitlog import open_repository, resolve

    return resolve(open_repository(repo), "HEAD")


def repo_key(repo: Path) -> str:
    """A folder name for the repository's state: its name and a hash of its resolved path (two repositories with the
    same name do not share state)."""
    resolved = Path(repo).expanduser().resolve()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.name).strip("-.") or "repo"
    return f"{name[:40]}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"


def state_dir(repo: Path) -> Path:
    """``$RISKFT_HOME/watch/<name>-<hash>/``: the full mine and ``state.json``."""
    return paths.riskft_home() / "watch" / repo_key(repo)


def read_state(repo: Path) -> dict:
    path = state_dir(repo) / STATE_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@dataclass
class MineOutcome:
    """What one mine of the watched repository did."""

    repo: str
    head: str
    rows: int  # changes in the full mine
    new_rows: int  # changes not in the previous mine
    matured: int  # earlier rows that left the maturity window (now labelled)
    relabelled: int  # earlier rows whose label changed otherwise (a new fix blames them)
    unlabelled: int  # rows still in the maturity window (not sent)
    sent: int  # rows in the incoming file
    incoming_file: str  # "" when nothing was sent
    state_file: str
    seconds: float
    commits_per_s: float
    fallback: str = ""  # why an incremental mine became a full one, if it did
    issues: str = ""  # the issue export whose bugs made the fixes ("": message patterns)

    def message(self) -> str:
        text = (f"{self.repo} at {self.head[:12]}: {self.rows} changes mined ({self.new_rows} new, {self.matured} "
                f"matured, {self.relabelled} relabelled, {self.unlabelled} still in the maturity window) in "
                f"{self.seconds:.1f} s")
        if self.issues:
            text += f"; fixes from the issue export {self.issues}"
        if self.fallback:
            text += f"; full re-mine: {self.fallback}"
        if self.incoming_file:
            return text + f"; {self.sent} sent to {self.incoming_file}"
        return text + "; nothing to send to the history"

    def as_dict(self) -> dict:
        return asdict(self)


UNLABELLED = "unlabelled"


def _labels(bug: pd.Series) -> pd.Series:
    """``bug`` as text for comparison: ``"0"``, ``"1"`` or ``"unlabelled"``."""
    values = pd.to_numeric(bug, errors="coerce")
    return pd.Series([UNLABELLED if pd.isna(v) else str(int(v)) for v in values], dtype=object)


def rows_to_send(now: pd.DataFrame, before: pd.DataFrame | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The labelled rows of ``now`` that are new or whose label differs from ``before``, and counts of why."""
    ids, labels = now["_id"].astype(str).reset_index(drop=True), _labels(now["bug"])
    old = {} if before is None or before.empty else dict(zip(before["_id"].astype(str), _labels(before["bug"])))
    was = ids.map(old)
    new = was.isna()
    changed = ~new & (was != labels)
    labelled = labels != UNLABELLED
    counts = {"new_rows": int(new.sum()), "matured": int((changed & (was == UNLABELLED)).sum()),
              "relabelled": int((changed & (was != UNLABELLED)).sum()), "unlabelled": int((~labelled).sum())}
    return now.reset_index(drop=True)[((new | changed) & labelled).to_numpy()], counts


def incoming_name(pattern: str, repo: Path, head: str) -> str:
    """The incoming file's name: the kind's pattern (``changes*.csv``) with ``-mined-<name>-<head>`` for the star."""
    return mined_name(pattern, f"{repo_key(repo)}-{head[:12]}")


def mine_into_incoming(repo: Path, *, pattern: str, incoming: Path | None = None, maturity: float | None = None,
                       progress=None) -> MineOutcome:
    """Mine ``repo`` incrementally and drop what changed into the incoming folder (see the module docstring) under a
    name matching ``pattern``, the incoming kind's (``changes*.csv``). Raises :class:`InputError` when ``repo`` is not
    a git repository or has no commits."""
    repo = Path(repo).expanduser()
    if head_of(repo) is None:  # checked before anything is written for this path
        raise InputError(f"{repo} has no commits yet")
    maturity = maturity_days() if maturity is None else maturity
    issues = issue_export()
    folder = state_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / ".lock"):
        return _mine_locked(repo, folder, pattern=pattern, incoming=incoming, maturity=maturity, issues=issues,
                            progress=progress)


def _why_mine_fully(state: dict, issues_sha: str, szz_rules: str) -> str:
    """Why the earlier rows cannot be extended incrementally ("" when they can): they were labelled from another issue
    export, or under other SZZ rules (a state without ``szz_rules`` predates them: v1)."""
    if state.get("issues_sha256", "") != issues_sha:
        return "the issue export is not the previous mine's"
    if (before := state.get("szz_rules", "v1")) != szz_rules:
        return f"the SZZ rules changed since the previous mine ({before} -> {szz_rules})"
    return ""


def _mine_locked(repo: Path, folder: Path, *, pattern: str, incoming: Path | None, maturity: float,
                 issues: IssueExport | None, progress) -> MineOutcome:
    from riskft_pipeline.core.risk.mining import SZZ_RULES, mine, read_mined_csv, write_changes_csv

    head = head_of(repo) or ""  # read again under the lock: the HEAD this mine starts from
    state_csv = folder / STATE_CSV
    previous = read_mined_csv(state_csv) if state_csv.is_file() else None
    issues_sha = issues.sha256 if issues else ""
    relabel_why = _why_mine_fully(read_state(repo), issues_sha, SZZ_RULES) if previous is not None else ""
    result = mine(repo, maturity_days=maturity, tracker=issues.tracker if issues else None,
                  previous=None if relabel_why else previous, progress=progress or False)
    send, counts = rows_to_send(result.changes, previous)
    target = ""
    if len(send):
        inbox = Path(incoming or paths.incoming_dir())
        inbox.mkdir(parents=True, exist_ok=True)
        name = incoming_name(pattern, repo, head)
        write_changes_csv(send, inbox / name)
        target = str(inbox / name)
    write_changes_csv(result.changes, state_csv)
    stats = result.stats
    outcome = MineOutcome(repo=str(repo), head=head, rows=len(result.changes), **counts, sent=len(send),
                          incoming_file=target, state_file=str(state_csv), seconds=stats.elapsed_s,
                          commits_per_s=stats.commits_per_s,
                          fallback=relabel_why or str((stats.incremental or {}).get("fallback", "")),
                          issues=issues.path if issues else "")
    write_json(folder / STATE_JSON, {"repo": str(repo), "head": head, "maturity_days": maturity,
                                     "issues": outcome.issues, "issues_sha256": issues_sha, "szz_rules": SZZ_RULES,
                                     "mined_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                     "outcome": outcome.as_dict(), "mining": stats.as_dict()})
    return outcome
