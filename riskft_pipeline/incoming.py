"""The incoming folder: new ticket exports and change/incident files, turned into history the chains retrain on.

:func:`ingest_folder` does, for every new top-level file of the folder, what the retraining sensor needs:

1. classify it by name (``tickets*.csv``, ``changes*.csv``, ``incidents*.csv``; other names are left alone) and skip
   hidden files and files still being written (modified less than ``min_age_s`` ago);
2. hash it (sha256): content that was ingested before is *seen*: nothing is appended and nothing is triggered;
3. validate it with the chains' own readers and cleaners. A file unusable as a whole is *rejected*: moved to
   ``incoming/rejected/`` with ``<name>.reason.txt`` beside it. Bad rows of a usable file go, with their reason, to
   ``history/quarantine/``; nothing is lost: ``rows_in == rows_added + rows_updated + rows_duplicate +
   rows_quarantined``;
4. append the valid rows not yet in the history (by ticket ``number``, change ``_id``, incident ``number``; the first
   arrival wins) to ``history/<kind>.csv``, rebuild the chain's input (changes labelled by every incident so far) and
   freeze it as a content-addressed snapshot ``history/snapshots/<chain>-<sha>.csv``. A run reads its snapshot, so a
   later arrival never changes a file under a running chain. One exception to "first arrival wins": the batches a
   watched repository is mined into (``changes-mined-*.csv``, :func:`replaces_rows`) *replace* the stored row of a
   change they carry again, since the miner re-sends a change only when its label changed (a later fix blames it,
   :mod:`riskft_pipeline.watch`): the history keeps one row per change, with its newest label;
5. move the file to ``incoming/processed/`` and record the outcome, numbered, in ``history/ingested.json``.

:func:`pending_runs` says which chains got a new snapshot after a given number: the sensor keeps that number as its
cursor, so a tick that ingested files but died before asking for runs is made good by the next one. No Dagster here.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskft_pipeline import paths
from riskft_pipeline.core.csvio import escape_formulas_reversibly, unescape_formulas, write_quarantine_csv
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_write, file_lock, sha256_file, write_json
from riskft_pipeline.core.tasks import incoming_kind, incoming_kinds, task_spec

PROCESSED, REJECTED, ENRICH = "processed", "rejected", "enrich"
MINED = "-mined-"  # in the names of a watched repository's batches: changes-mined-<repo>-<head>.csv
REGISTRY = "ingested.json"
_PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp")


def history_dir() -> Path:
    """``$RISKFT_HOME/history``: accumulated rows, snapshots, quarantined rows and the ingest registry."""
    return paths.riskft_home() / "history"


@dataclass
class Outcome:
    """What happened to one incoming file (one entry of the registry for accepted and rejected files)."""

    file: str
    kind: str
    sha256: str
    status: str  # accepted | seen | rejected
    reason: str = ""
    moved_to: str = ""
    rows_in: int = 0
    rows_added: int = 0
    rows_updated: int = 0  # rows that replaced a stored row with the same key (mined batches only)
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    quarantine_file: str = ""
    chain: str = ""
    snapshot: str = ""  # set only when the chain's input changed
    snapshot_sha256: str = ""
    labels: dict = field(default_factory=dict)  # incident labelling summary (risk chain)
    seq: int = 0
    at: str = ""


@dataclass(frozen=True)
class PendingRun:
    """A chain to re-materialise on ``snapshot``, and the incoming files that made it."""

    chain: str
    snapshot: str
    snapshot_sha256: str
    files: tuple[str, ...]
    seq: int


@dataclass
class Validated:
    rows: pd.DataFrame  # rows fit for the history, in the history's format
    quarantine: pd.DataFrame  # the others: their original cells plus ``reason``
    rows_in: int


# --- finding files -----------------------------------------------------------------------------------------------


def kind_of(name: str) -> str | None:
    """The kind of incoming file (``tickets``, ``changes``, ``incidents``: the tasks' :class:`IncomingKind`) its name
    says it holds, or None."""
    lower = name.lower()
    return next((kind for kind, (_, k) in incoming_kinds().items() if fnmatch.fnmatch(lower, k.pattern)), None)


def mined_name(pattern: str, label: str) -> str:
    """The name of a watched repository's batch: the kind's pattern (``changes*.csv``) with ``-mined-<label>`` for
    the star."""
    return pattern.replace("*", MINED + label, 1)


def replaces_rows(name: str, kind: str) -> bool:
    """Whether the rows of the incoming file ``name`` replace the history's rows with the same key (the last arrival
    wins): only a watched repository's batches (:func:`mined_name` of the task's ``mined_kind``). Every other file:
    the first arrival wins."""
    spec, k = incoming_kind(kind)
    return spec.mined_kind == kind and fnmatch.fnmatch(name.lower(), mined_name(k.pattern, "*"))


def find_new_files(folder: Path, *, min_age_s: float = 0.0, now: float | None = None) -> list[tuple[Path, str]]:
    """``(path, kind)`` of the folder's top-level files whose name says what they hold, oldest first. A file modified
    less than ``min_age_s`` ago may still be being copied in: it is left for a later tick."""
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    found = []
    for p in folder.iterdir():
        if not p.is_file() or p.name.startswith(".") or p.name.lower().endswith(_PARTIAL_SUFFIXES):
            continue
        kind = kind_of(p.name)
        if kind and now - p.stat().st_mtime >= min_age_s:
            found.append((p, kind))
    return sorted(found, key=lambda pk: (pk[0].stat().st_mtime, pk[0].name))


# --- validation: the chains' own readers and cleaners --------------------------------------------------------------


def validate(path: Path, kind: str) -> Validated:
    """Raises :class:`InputError` when the file cannot be used at all."""
    return incoming_kind(kind)[1].validate(path)


def validate_tickets(path: Path) -> Validated:
    """Clean + quarantine exactly as ``clean_tickets`` does; the history keeps the *raw* cells of the clean rows, so
    the ticket chain re-reads it like any export."""
    from riskft_pipeline.core.tickets.clean import clean_tickets
    from riskft_pipeline.core.tickets.io import read_ticket_csv

    read = read_ticket_csv(path)
    result = clean_tickets(read.df, bad_rows=read.bad_rows)  # raises if raw != clean + quarantined
    rows = read.df[_not_quarantined(read.df, result.quarantine)].reset_index(drop=True)
    kept, clean = set(rows["number"].map(_norm_id)), set(result.clean["number"])
    if len(rows) != len(result.clean) or kept != clean:
        raise AssertionError(f"{path.name}: raw rows kept ({len(rows)}) do not match the clean rows ({len(clean)})")
    return Validated(rows, result.quarantine, read.raw_rows)


def _not_quarantined(raw: pd.DataFrame, quarantine: pd.DataFrame) -> list[bool]:
    """Which raw rows are not in the quarantine, matched by their (untouched) cells. Identical rows are
    interchangeable, so matching copies by count is exact."""
    cols = list(raw.columns)
    left = Counter(quarantine.reindex(columns=cols, fill_value="").astype(str).itertuples(index=False, name=None))
    keep = []
    for row in raw.astype(str).itertuples(index=False, name=None):
        hit = left[row] > 0
        left[row] -= hit
        keep.append(not hit)
    return keep


def validate_changes(path: Path) -> Validated:
    """``read_changes_csv`` + ``clean_changes``: the history keeps the clean, typed rows."""
    from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv

    result = clean_changes(read_changes_csv(path))
    return Validated(result.clean, result.quarantine, result.summary["raw_rows"])


def validate_incidents(path: Path) -> Validated:
    """``read_incidents_csv``; a row needs an incident number and a change id, and a number counts once. Lines that
    do not fit the header are quarantined as ``malformed_row``."""
    from riskft_pipeline.core.risk.labels import (
        DEFAULT_CHANGE_ID_COL,
        MALFORMED,
        MALFORMED_COLUMN,
        NUMBER_COL,
        malformed_rows,
        read_incidents_csv,
    )

    df = read_incidents_csv(path)
    malformed = malformed_rows(df)
    df = df.drop(columns=[MALFORMED_COLUMN], errors="ignore")
    number = df[NUMBER_COL].map(_norm_id)
    reason = pd.Series("", index=df.index, dtype=object)
    reason[malformed] = MALFORMED
    reason[(reason == "") & (number == "")] = "missing number"
    reason[(reason == "") & (df[DEFAULT_CHANGE_ID_COL].str.strip() == "")] = "no change id"
    reason[(reason == "") & number.where(reason == "").duplicated() & (number != "")] = "duplicate incident number"
    bad = reason != ""
    return Validated(df[~bad].reset_index(drop=True), df[bad].assign(reason=reason[bad]).reset_index(drop=True),
                     len(df))


def _norm_id(value) -> str:
    return " ".join(str(value).split())


# --- history -----------------------------------------------------------------------------------------------------


def read_history(path: Path) -> pd.DataFrame:
    """A history CSV as written by :func:`write_csv`, every cell as text, with the formula escapes taken off: the
    pipeline gets back exactly the cells it stored (ids compare, texts are unchanged)."""
    if not path.is_file():
        return pd.DataFrame()
    return unescape_formulas(pd.read_csv(path, dtype=str, keep_default_na=False))


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Atomically, every cell quoted (a bare CR in a cell must not split its row) and formula cells escaped like
    every CSV the project writes: someone will open the history in a spreadsheet.

    The escape is :func:`~riskft_pipeline.core.csvio.escape_formulas_reversibly` (a leading apostrophe, plain numbers
    left alone so negative values stay numbers for ``read_changes_csv``), so that :func:`read_history` can take
    exactly one apostrophe off and give back the original cell.
    """
    with atomic_write(path) as f:
        escape_formulas_reversibly(df).to_csv(f, index=False, lineterminator="\n", quoting=csv.QUOTE_ALL)


def append_new(history_csv: Path, rows: pd.DataFrame, key: str, *, replace: bool = False) -> tuple[int, int, int]:
    """Append the rows whose ``key`` the history does not hold yet (first arrival wins; columns are the union). With
    ``replace``, a row whose key is stored replaces the stored cells when they differ (last arrival wins; the row
    keeps its place). Within ``rows`` the first of a key counts. Returns ``(added, updated, duplicates)``."""
    old = read_history(history_csv)
    stored = old[key].map(_norm_id) if key in old.columns else pd.Series(dtype=object)
    ids = rows[key].map(_norm_id)
    first, known = ~ids.duplicated(), ids.isin(set(stored))
    fresh = rows[first & ~known]
    updated = _replace_rows(old, stored, rows[first & known].astype(str), key) if replace else 0
    if len(fresh) or updated:
        merged = pd.concat([old, fresh.astype(str)], ignore_index=True).fillna("")
        write_csv(merged, history_csv)
    return len(fresh), updated, len(rows) - len(fresh) - updated


def _replace_rows(old: pd.DataFrame, stored: pd.Series, rows: pd.DataFrame, key: str) -> int:
    """Overwrite, in ``old``, the cells of the stored rows that ``rows`` carry with other values; returns how many
    rows changed. The history's keys are unique (it is only ever appended to without duplicates)."""
    if rows.empty:
        return 0
    position = pd.Series(range(len(old)), index=stored.to_numpy())
    at = position[rows[key].map(_norm_id)].to_numpy()
    for col in rows.columns.difference(old.columns):
        old[col] = ""
    cols = list(rows.columns)
    changed = (old.loc[at, cols].fillna("").to_numpy() != rows.to_numpy()).any(axis=1)
    old.loc[at[changed], cols] = rows[changed].to_numpy()
    return int(changed.sum())


def chain_input(chain: str, hist: Path) -> tuple[Path | None, dict]:
    """The file a chain should train on now (the task's ``history_input``); None while there is nothing to train on."""
    return task_spec(chain).history_input(hist)


def ticket_history_input(hist: Path) -> tuple[Path | None, dict]:
    """The ticket history as it stands."""
    path = hist / "tickets.csv"
    return (path if path.is_file() else None), {}


def risk_history_input(hist: Path) -> tuple[Path | None, dict]:
    """The change history labelled by every incident so far (an incident naming a change that arrives later labels
    it then); None while there are incidents but no changes yet."""
    changes, incidents = hist / "changes.csv", hist / "incidents.csv"
    if not changes.is_file():
        return None, {}
    if not incidents.is_file():
        return changes, {}
    from riskft_pipeline.core.risk.labels import label_from_incidents

    labelled, summary = label_from_incidents(read_history(changes), read_history(incidents))
    write_csv(labelled, hist / "changes_labelled.csv")
    keys = ("incidents", "matched", "unmatched", "changes_labelled", "bug_rate")
    return hist / "changes_labelled.csv", {k: summary[k] for k in keys}


def snapshot(chain: str, source: Path, hist: Path) -> tuple[Path, str]:
    """An immutable copy named by its content hash (written once; later calls with the same content reuse it)."""
    sha = sha256_file(source)
    dest = hist / "snapshots" / f"{chain}-{sha[:16]}.csv"
    if not dest.is_file():
        with atomic_write(dest, "wb") as f, open(source, "rb") as src:
            shutil.copyfileobj(src, f)
    return dest, sha


# --- registry ----------------------------------------------------------------------------------------------------


def load_registry(hist: Path | None = None) -> list[dict]:
    path = (hist or history_dir()) / REGISTRY
    return json.loads(path.read_text(encoding="utf-8"))["entries"] if path.is_file() else []


def _save_registry(hist: Path, entries: list[dict]) -> None:
    write_json(hist / REGISTRY, {"version": 1, "entries": entries})


def _locked(hist: Path):
    """One ingest at a time per home folder (a sensor tick and a manual call may overlap)."""
    return file_lock(hist / ".lock")


def last_seq(hist: Path | None = None) -> int:
    return max((e["seq"] for e in load_registry(hist)), default=0)


def pending_runs(after_seq: int, hist: Path | None = None) -> list[PendingRun]:
    """Per chain, the newest snapshot recorded after ``after_seq`` (it holds every earlier one's rows)."""
    newer = [e for e in load_registry(hist) if e["seq"] > after_seq and e["status"] == "accepted" and e["snapshot"]]
    runs = []
    for chain in sorted({e["chain"] for e in newer}):
        mine = [e for e in newer if e["chain"] == chain]
        last = max(mine, key=lambda e: e["seq"])
        runs.append(PendingRun(chain, last["snapshot"], last["snapshot_sha256"],
                               tuple(e["file"] for e in mine), last["seq"]))
    return runs


# --- ingesting -----------------------------------------------------------------------------------------------------


def ingest_folder(folder: Path | None = None, *, min_age_s: float = 0.0, hist: Path | None = None) -> list[Outcome]:
    """Ingest every new file of ``folder`` (default :func:`riskft_pipeline.paths.incoming_dir`); see the module
    docstring. Returns one outcome per file looked at, in order."""
    folder = Path(folder or paths.incoming_dir())
    hist = hist or history_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(hist):
        entries = load_registry(hist)
        outcomes = [ingest_file(path, kind, entries, folder, hist)
                    for path, kind in find_new_files(folder, min_age_s=min_age_s)]
        _save_registry(hist, entries)
    return outcomes


def ingest_file(path: Path, kind: str, entries: list[dict], folder: Path, hist: Path) -> Outcome:
    """One file; appends its registry entry to ``entries`` unless it was seen before."""
    sha = sha256_file(path)
    out = Outcome(file=path.name, kind=kind, sha256=sha, status="accepted", chain=incoming_kind(kind)[0].name,
                  at=_now())
    earlier = next((e for e in entries if e["sha256"] == sha and e["status"] == "accepted"), None)
    if earlier is not None:
        out.status, out.reason = "seen", f"same content as {earlier['file']} (ingested {earlier['at']})"
        out.moved_to = str(_move_aside(path, folder / PROCESSED, sha))
        return out
    try:
        checked = validate(path, kind)
    except InputError as exc:
        _reject(out, path, folder, str(exc))
    else:
        _accept(out, checked, hist, entries)
        out.moved_to = str(_move_aside(path, folder / PROCESSED, sha))
    out.seq = max((e["seq"] for e in entries), default=0) + 1
    entries.append(asdict(out))
    return out


def _accept(out: Outcome, checked: Validated, hist: Path, entries: list[dict]) -> None:
    out.rows_in, out.rows_quarantined = checked.rows_in, len(checked.quarantine)
    if len(checked.quarantine):
        target = hist / "quarantine" / f"{out.sha256[:12]}-{out.file}"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_quarantine_csv(checked.quarantine, target)
        out.quarantine_file = str(target)
    if len(checked.rows):
        out.rows_added, out.rows_updated, out.rows_duplicate = append_new(
            hist / f"{out.kind}.csv", checked.rows, incoming_kind(out.kind)[1].key,
            replace=replaces_rows(out.file, out.kind))
    if out.rows_in != out.rows_added + out.rows_updated + out.rows_duplicate + out.rows_quarantined:
        raise AssertionError(f"{out.file}: row accounting broken: {out.rows_in} in != {out.rows_added} added + "
                             f"{out.rows_updated} updated + {out.rows_duplicate} duplicate + "
                             f"{out.rows_quarantined} quarantined")
    source, out.labels = chain_input(out.chain, hist)
    if source is None:
        out.reason = "kept; nothing to train on until a changes file arrives"
        return
    snap, snap_sha = snapshot(out.chain, source, hist)
    previous = next((e["snapshot_sha256"] for e in reversed(entries)
                     if e["chain"] == out.chain and e["snapshot_sha256"]), None)
    if snap_sha == previous:
        out.reason = "no new rows: the history did not change"
    else:
        out.snapshot, out.snapshot_sha256 = str(snap), snap_sha


def _reject(out: Outcome, path: Path, folder: Path, reason: str) -> None:
    out.status, out.reason = "rejected", reason
    out.moved_to = str(reject_file(path, reason, folder / REJECTED, out.sha256))


def reject_file(path: Path, reason: str, dest_dir: Path | None = None, sha: str | None = None) -> Path:
    """Move an unusable file aside (default: ``rejected/`` beside it) with ``<name>.reason.txt`` saying why."""
    sha = sha or sha256_file(path)
    target = _move_aside(path, dest_dir or path.parent / REJECTED, sha)
    target.with_name(target.name + ".reason.txt").write_text(
        f"{path.name} (sha256 {sha}) rejected at {_now()}:\n{reason}\n", encoding="utf-8")
    return target


def _move_aside(path: Path, dest_dir: Path, sha: str) -> Path:
    """Move into ``dest_dir`` keeping the name; a name already taken gets the content hash added."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / path.name
    if target.exists():
        target = dest_dir / f"{path.stem}-{sha[:12]}{path.suffix}"
    if target.exists():
        target = dest_dir / f"{path.stem}-{sha[:12]}-{time.time_ns()}{path.suffix}"
    shutil.move(str(path), target)
    return target


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def summarise(outcomes: list[Outcome]) -> str:
    """One line per file, for the sensor's skip reason and logs."""
    lines = []
    for o in outcomes:
        if o.status == "accepted":
            updated = f"{o.rows_updated} updated, " if o.rows_updated else ""
            lines.append(f"{o.file}: accepted ({o.rows_added} new rows, {updated}{o.rows_duplicate} already known, "
                         f"{o.rows_quarantined} quarantined){'; ' + o.reason if o.reason else ''}")
        else:
            lines.append(f"{o.file}: {o.status}: {o.reason}")
    return "\n".join(lines)
