"""Faults while writing: disk full while writing the splits or the adapter, an unwritable output location, a second
run swapping the folder mid-rename. Each ends with a clear error and the previous good outputs intact
(temp-then-rename everywhere)."""

from __future__ import annotations

import errno
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from riskft_pipeline.core.config import load_recipe
from riskft_pipeline.core.tickets import prepare as prepare_module
from riskft_pipeline.paths import configs_dir, embedded_data_dir
from riskft_pipeline_tests.reliability.harness import folder_bytes, prepare_tickets


def test_disk_full_while_writing_splits_keeps_the_previous_outputs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert prepare_tickets(embedded_data_dir() / "tickets.csv", out).rc == 0
    before = folder_bytes(out)
    real = prepare_module.write_examples

    def disk_full(path, rows):
        if Path(path).name == "test.jsonl":
            Path(path).write_text("half a line", encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, rows)

    monkeypatch.setattr(prepare_module, "write_examples", disk_full)
    run = prepare_tickets(embedded_data_dir() / "tickets.csv", out)
    assert run.rc == 1 and run.one_clear_line() and "No space left on device" in run.stderr
    assert folder_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "temp folder left behind"


def test_unwritable_output_location_is_one_line_and_touches_nothing(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    run = prepare_tickets(embedded_data_dir() / "tickets.csv", blocker / "out")
    assert run.rc == 2 and run.one_clear_line() and str(blocker) in run.stderr, run.stderr
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_an_existing_file_as_the_output_folder_is_refused_and_left_alone(tmp_path):
    """``--out`` naming an existing file: it used to be moved aside and replaced by the output folder, silently."""
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    run = prepare_tickets(embedded_data_dir() / "tickets.csv", out)
    assert run.rc == 2 and run.one_clear_line() and str(out) in run.stderr, run.stderr
    assert out.read_text(encoding="utf-8") == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "nothing moved, no temp folder left"


def test_a_second_run_swapping_the_folder_mid_rename_never_mixes_outputs(tmp_path, monkeypatch):
    """Two runs on one output folder: the second run's swap waits for the first's (a lock on the parent folder),
    both succeed, the folder is one complete run's output and no ``.out.old-PID`` copy is left behind."""
    from riskft_pipeline.core import files

    src, out = embedded_data_dir() / "tickets.csv", tmp_path / "out"
    assert prepare_tickets(src, tmp_path / "reference").rc == 0
    assert prepare_tickets(src, out).rc == 0
    real_replace = files.os.replace
    inner: dict = {}

    def second_run():
        try:
            inner["summary"] = prepare_module.prepare(src, out)
        except Exception as e:  # noqa: BLE001 - a thread: reported by the assertion below
            inner["error"] = e

    thread = threading.Thread(target=second_run)

    def racing_replace(a, b):
        real_replace(a, b)
        if Path(b).name.startswith(".out.old") and thread.ident is None:  # old outputs aside: the other run now
            thread.start()
            thread.join(timeout=3)  # before the fix it landed here, between the two renames; now it waits

    monkeypatch.setattr(files.os, "replace", racing_replace)
    outer = prepare_tickets(src, out)
    thread.join(timeout=120)
    assert outer.rc == 0, outer.stderr
    assert "summary" in inner, inner
    assert folder_bytes(out) == folder_bytes(tmp_path / "reference")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "reference"], "a stale copy was left behind"


def test_disk_full_while_saving_the_adapter_keeps_the_previous_adapter(tmp_path):
    from riskft_pipeline.training import sft

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"previous good weights")

    def full_disk(path, **kwargs):
        (Path(path) / "adapter_model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    generation = SimpleNamespace(eos_token_id=2, pad_token_id=None, save_pretrained=lambda path: None)
    trainer = SimpleNamespace(model=SimpleNamespace(generation_config=generation, save_pretrained=full_disk))
    tokenizer = SimpleNamespace(eos_token_id=2, pad_token_id=2, save_pretrained=lambda path: None)
    recipe = load_recipe(configs_dir() / "tickets_tiny.yaml")
    with pytest.raises(OSError) as err:
        sft._save_adapter(trainer, tokenizer, recipe, {}, adapter)
    assert err.value.errno == errno.ENOSPC
    assert (adapter / "adapter_model.safetensors").read_bytes() == b"previous good weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"], "temp folder left behind"
