"""The asset values (typed, and an older run's dict still read back) and the metadata helpers the asset pages use:
inline images, the loss curve, the predictions table, progress into the event log, the baseline verdict."""

from __future__ import annotations

import dataclasses
import json
import pickle

import dagster as dg
import pytest

from riskft_pipeline.defs import tickets
from riskft_pipeline.defs.common import (
    StepLog,
    loss_curve_png,
    markdown_with_images,
    predictions_sample,
    table,
)
from riskft_pipeline.defs.io_manager import RunScopedIOManager
from riskft_pipeline.defs.training import baseline_verdict
from riskft_pipeline.defs.values import CleanTable, RawFile, Splits

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_values_convert_an_older_runs_dict():
    old = {"path": "/x.csv", "sha256": "ab", "encoding": "cp1252", "warnings": ["w"], "unknown": 1}
    raw = RawFile.of(old)
    assert raw == RawFile(path="/x.csv", sha256="ab", encoding="cp1252", warnings=("w",))
    assert RawFile.of(raw) is raw
    assert Splits.of({"data_dir": "d", "input_path": "i", "summary": {}, "data_version": "v"}).recipe_path is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        raw.path = "/y.csv"  # type: ignore[misc]
    with pytest.raises(TypeError, match="cannot read a CleanTable"):
        CleanTable.of(["not", "a", "dict"])


def test_an_older_runs_pickled_dict_is_read_back_typed(tmp_path, monkeypatch):
    """raw_tickets materialised by a run that stored a dict; clean_tickets, run later on its own, gets a RawFile."""
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    io = RunScopedIOManager(base_dir=str(tmp_path / "storage"))
    with dg.instance_for_test() as instance:
        first = dg.materialize([tickets.raw_tickets], instance=instance, resources={"io_manager": io})
        assert first.success and isinstance(first.output_for_node("raw_tickets"), RawFile)
        stored = tmp_path / "storage" / "raw_tickets" / f"{first.run_id}.pickle"
        as_dict = first.output_for_node("raw_tickets").to_dict()
        as_dict["warnings"] = list(as_dict["warnings"])
        stored.write_bytes(pickle.dumps(as_dict))  # what the untyped code wrote
        second = dg.materialize([tickets.raw_tickets, tickets.clean_tickets], instance=instance,
                                resources={"io_manager": io}, selection=[tickets.clean_tickets])
        assert second.success
        clean = second.output_for_node("clean_tickets")
        assert isinstance(clean, CleanTable) and clean.input_sha256 == as_dict["sha256"]


def test_report_markdown_gets_its_images_inline(tmp_path):
    (tmp_path / "roc.png").write_bytes(PNG)
    text = markdown_with_images("# r\n\n![roc](roc.png)\n![gone](gone.png)\n![up](../up.png)\n", tmp_path)
    assert "![roc.png](data:image/png;base64," in text
    assert "(gone: not found)" in text and "(up: not found)" in text and "](roc.png)" not in text


def test_loss_curve_png(tmp_path):
    assert loss_curve_png([], tmp_path / "none.png") is None
    png = loss_curve_png([(1, 2.0), (2, 1.5), (3, 1.2)], tmp_path / "loss.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_predictions_table(tmp_path):
    rows = [{"id": "INC1", "expected": {"category": "SOFTWARE"}, "predicted": {"category": "NETWORK"},
             "confidence": {"category": 0.123456}, "raw": "long generation", "zero_shot_raw": "x",
             "valid_json": True, "issue": "y" * 200},
            {"id": "INC2", "expected": {"category": "HARDWARE"}, "predicted": {"category": None},
             "confidence": {"category": None}, "valid_json": False, "issue": "short"}]
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows * 10), encoding="utf-8")
    sample = predictions_sample(path, n=3)
    assert len(sample) == 3
    assert list(sample[0]) == ["id", "expected.category", "predicted.category", "confidence.category",
                               "valid_json", "issue"]
    assert sample[0]["confidence.category"] == 0.1235 and len(sample[0]["issue"]) == 80
    value = table(sample)
    assert isinstance(value, dg.TableMetadataValue)
    kinds = {c.name: c.type for c in value.schema.columns}
    assert kinds == {"id": "string", "expected.category": "string", "predicted.category": "string",
                     "confidence.category": "float", "valid_json": "bool", "issue": "string"}
    assert value.records[1].data["predicted.category"] == "" and value.records[1].data["confidence.category"] is None
    assert all(set(r.data) == set(kinds) for r in value.records), "every record has every column"


def test_step_log_is_throttled_and_always_says_the_end():
    lines = []
    log = StepLog(lines.append, "training", every_s=3600)
    log.logs(1, {"loss": 2.5})
    for step in range(1, 11):
        log.step(step, 10)
    assert lines == ["[progress] training: step 1/10 (10%), loss 2.500, 0 s",
                     "[progress] training: step 10/10 (100%), loss 2.500, 0 s"]


def test_evaluation_progress_reaches_the_event_log_through_the_callback():
    """What the eval asset passes as ``progress``: ``(stage, done, total)`` calls become ``[progress] evaluation:``
    lines (with examples/s: core/test_progress.py), a line per 10% of a stage (or per ``every_s``), always the
    end."""
    lines = []
    log = StepLog(lines.append, "evaluation", every_s=3600)
    log.examples("score test", 0, 40)
    for done in range(2, 41, 2):
        log.examples("score test", done, 40)
    assert len(lines) == 11 and all(line.startswith("[progress] evaluation: score test: ") for line in lines)
    assert lines[-1].startswith("[progress] evaluation: score test: 40/40 examples (100%)")


def test_baseline_verdict_in_words():
    report = {"primary_metric": {"name": "auc", "value": 0.668}, "shipped": "fused",
              "methods": {"fused": {"auc": 0.668}, "model": {"auc": 0.6}, "logreg": {"auc": 0.777},
                          "lapredict": {"auc": 0.6}}}
    assert baseline_verdict(report) == "LOSES to baseline logreg (0.7770) on auc: the shipped predictor (fused) " \
                                       "scores 0.6680"
    report["methods"]["fused"]["auc"] = 0.8
    assert baseline_verdict(report) == "beats or ties every baseline on auc (logreg, lapredict)"
