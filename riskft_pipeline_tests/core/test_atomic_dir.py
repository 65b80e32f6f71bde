"""``atomic_dir``: an output folder is replaced whole or not at all, an existing file at the output path is refused
and left alone, two writers swap one after the other, and leftovers of a dead writer are cleaned up by the next
successful write (L1 in docs/reliability.md)."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from riskft_pipeline.core import files
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_dir


def _write(out: Path, text: str) -> None:
    with atomic_dir(out) as tmp:
        (tmp / "result.txt").write_text(text, encoding="utf-8")


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_success_leaves_exactly_the_new_folder(tmp_path):
    out = tmp_path / "out"
    _write(out, "first")
    _write(out, "second")
    assert _names(tmp_path) == ["out"]
    assert _names(out) == ["result.txt"] and (out / "result.txt").read_text(encoding="utf-8") == "second"


def test_an_existing_file_at_the_output_path_is_refused_and_left_alone(tmp_path):
    """Before: the file was moved aside to ``.out.old-PID``, silently replaced by a folder, then deleted."""
    out = tmp_path / "out"
    out.write_text("someone's notes", encoding="utf-8")
    ran = []
    with pytest.raises(InputError, match="exists and is not a folder") as err, atomic_dir(out):
        ran.append(True)
    assert str(out) in str(err.value) and "\n" not in str(err.value)
    assert not ran, "nothing is built for an output that cannot be written"
    assert out.read_text(encoding="utf-8") == "someone's notes"
    assert _names(tmp_path) == ["out"], "nothing moved, no temp folder left"


def test_leftovers_of_a_dead_writer_are_removed_by_the_next_successful_write(tmp_path):
    """A crash between the renames leaves ``.out.old-PID`` (a full copy of the previous outputs, quarantine PII
    included); a crash while building leaves ``.out.XXXX.tmp``. Nobody holds them: the next success removes them.
    A temp folder a live writer holds is kept."""
    out = tmp_path / "out"
    _write(out, "previous")
    old = tmp_path / ".out.old-4194999"
    old.mkdir()
    (old / "quarantine.csv").write_text("raw rows", encoding="utf-8")
    dead_tmp = tmp_path / ".out.k3j2h1g0.tmp"
    (dead_tmp / "half").mkdir(parents=True)
    live_tmp = tmp_path / ".out.live1234.tmp"
    live_tmp.mkdir()
    other = tmp_path / ".other.abcdefgh.tmp"  # another output's temp folder: not ours to judge
    other.mkdir()
    holder = os.open(live_tmp, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        _write(out, "new")
        assert _names(tmp_path) == [".other.abcdefgh.tmp", ".out.live1234.tmp", "out"]
    finally:
        os.close(holder)
    _write(out, "newer")
    assert _names(tmp_path) == [".other.abcdefgh.tmp", "out"]
    assert (out / "result.txt").read_text(encoding="utf-8") == "newer"


def test_a_failed_block_leaves_the_previous_folder_and_no_temp(tmp_path):
    out = tmp_path / "out"
    _write(out, "previous")
    with pytest.raises(RuntimeError, match="boom"), atomic_dir(out) as tmp:
        (tmp / "result.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("boom")
    assert _names(tmp_path) == ["out"] and (out / "result.txt").read_text(encoding="utf-8") == "previous"


def test_a_second_writer_swaps_after_the_first_not_in_between(tmp_path, monkeypatch):
    """Before: a second writer landing between the first one's two renames made the first fail with "Directory not
    empty" and leave ``.out.old-PID`` behind. Now the swap holds a lock on the parent folder: the second writer waits
    for it, both succeed, the last one wins, nothing is left beside the folder."""
    out = tmp_path / "out"
    _write(out, "previous")
    real_replace = os.replace
    errors: list[BaseException] = []

    def second_writer():
        try:
            _write(out, "second")
        except Exception as e:  # noqa: BLE001 - a thread: reported by the assertion below
            errors.append(e)

    thread = threading.Thread(target=second_writer)

    def racing_replace(src, dst):
        real_replace(src, dst)
        if Path(dst).name.startswith(".out.old-") and thread.ident is None:
            thread.start()  # the previous outputs are aside and the new ones not yet in place
            thread.join(timeout=1.0)  # without the lock it landed here; now it waits for this swap to end

    monkeypatch.setattr(files.os, "replace", racing_replace)
    _write(out, "first")
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    assert (out / "result.txt").read_text(encoding="utf-8") == "second"
    assert _names(tmp_path) == ["out"]
