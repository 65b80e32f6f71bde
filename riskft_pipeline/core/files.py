"""The project's file helpers, stdlib only (POSIX): content hashes, JSON and JSONL, atomic files and folders, file
locks, and the scan for the first JSON object in a text (how every model answer is read).

Formerly ``core/jsonl.py`` (renamed for what it holds: JSONL is one of six concerns). CSV in and out (decoding,
formula escaping, quarantine files) is :mod:`core.csvio`'s, which needs pandas and pyarrow; this module needs nothing
outside the standard library."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from riskft_pipeline.core.errors import InputError


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_DECODER = json.JSONDecoder()
MAX_JSON_ATTEMPTS = 64
"""Candidate ``{`` positions :func:`first_json_object` tries before giving up: bounds the work on adversarial text.
Uncapped, "{{{{..." cost one failed decode per brace, each scanning the text before it for the error's line and
column: quadratic (1M braces took minutes)."""


def first_json_object(text: str, accept: Callable[[dict], bool] = lambda obj: True,
                      max_attempts: int = MAX_JSON_ATTEMPTS) -> dict | None:
    """The first JSON object in ``text`` that ``accept`` takes, else None. Tolerates prose, code fences and garbage
    around it; only ``json`` decoding is used, nothing in the text is ever evaluated. At most ``max_attempts`` ``{``
    positions are tried."""
    start = text.find("{")
    for _attempt in range(max_attempts):
        if start == -1:
            break
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict) and accept(obj):
            return obj
        start = text.find("{", start + 1)
    return None


def dumps(obj: Any) -> str:
    """One canonical JSON line: UTF-8 kept readable, no trailing spaces, stable across runs."""
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def read_jsonl(path: str | Path) -> list[dict]:
    return list(iter_jsonl(path))


def iter_jsonl(path: str | Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not valid JSON ({e.msg})") from None


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows atomically (temp file, fsync, rename). Returns the number of rows."""
    n = 0
    with atomic_write(path) as f:
        for row in rows:
            f.write(dumps(row) + "\n")
            n += 1
    return n


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_write(path) as f:
        json.dump(obj, f, ensure_ascii=False, indent=2, sort_keys=False)
        f.write("\n")


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temp file beside ``path``; on success fsync and rename over it, on failure remove it.

    A reader never sees a half-written file, and a previous good file survives a failed write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result should look like any file the user writes
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """An exclusive ``flock`` on the file ``path`` (created, with its folder, when missing) for the block: one holder
    at a time among the processes of this machine. Processes on other machines are not covered."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def atomic_dir(path: str | Path):
    """Build a directory under a temp name and rename it into place when the block succeeds.

    An existing directory at ``path`` is replaced only after the new one is complete; an existing *file* (or
    anything else that is not a directory) at ``path`` is refused with :class:`InputError` before anything is
    written or moved. After a successful block ``path`` is the new directory and nothing else is left beside it:

    - the swap (previous folder moved to ``.NAME.old-PID``, new one renamed in, old copy removed) runs under an
      exclusive ``flock`` on the parent folder, so two writers of one output folder swap one after the other (the
      last one wins) instead of failing with "Directory not empty" and leaving a copy behind;
    - each writer holds a ``flock`` on its own temp folder while it builds it, so the next successful swap can tell
      leftovers of a dead process (``.NAME.old-*``, ``.NAME.*.tmp`` nobody holds) from a live writer's temp folder,
      and removes them. Where the filesystem has no ``flock`` the swap runs unlocked and such leftovers are kept.
    """
    path = Path(path)
    _refuse_non_directory(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked_dir(path.parent):  # a temp folder is never seen unheld by another writer's cleanup
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        tmp_fd = _hold(tmp)
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        try:
            yield tmp
            with _locked_dir(path.parent) as locked:
                _refuse_non_directory(path)
                if locked:
                    _remove_leftovers(path, keep=tmp)
                _swap(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        if tmp_fd is not None:
            os.close(tmp_fd)


def _refuse_non_directory(path: Path) -> None:
    if (path.exists() or path.is_symlink()) and not path.is_dir():
        raise InputError(f"output path {path} exists and is not a folder: nothing was written and it was left as "
                         "it is (remove it or choose another output folder)")


def _swap(tmp: Path, path: Path) -> None:
    """``tmp`` becomes ``path``; a previous ``path`` is moved aside first and removed after (put back on failure)."""
    if not (path.exists() or path.is_symlink()):
        os.replace(tmp, path)
        return
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.replace(old, path)  # the previous outputs stay where they were
        raise
    finally:
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(path: Path, keep: Path) -> None:
    """Under the parent's lock: every ``.NAME.old-*`` is a dead swap's, and a ``.NAME.*.tmp`` folder whose lock can
    be taken has no live writer."""
    old_prefix, tmp_prefix = f".{path.name}.old-", f".{path.name}."
    for sibling in path.parent.iterdir():
        name = sibling.name
        if sibling == keep or not name.startswith(tmp_prefix):
            continue
        dead_tmp = name.endswith(".tmp") and sibling.is_dir() and not sibling.is_symlink() and _unheld(sibling)
        if name.startswith(old_prefix) or dead_tmp:
            _remove(sibling)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _hold(folder: Path) -> int | None:
    """An open descriptor holding an exclusive ``flock`` on ``folder`` (None where the filesystem has none)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _unheld(folder: Path) -> bool:
    """True when nobody holds ``folder``'s lock (its writer is gone); False when held or when it cannot be told."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked_dir(folder: Path) -> Iterator[bool]:
    """An exclusive ``flock`` on ``folder`` for the block; yields False (and runs unlocked) where there is none."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
