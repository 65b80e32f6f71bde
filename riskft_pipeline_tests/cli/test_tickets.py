"""`riskft tickets prepare` takes the same path as `riskft risk prepare` (workflows.prepare → the spec's prepare),
with the ticket split options passed through."""

from __future__ import annotations

from riskft_pipeline import workflows
from riskft_pipeline.cli import main
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.paths import embedded_data_dir


def test_tickets_prepare_goes_through_the_task_spec(tmp_path, monkeypatch, capsys):
    calls = []
    real = workflows.prepare
    monkeypatch.setattr(workflows, "prepare", lambda *a, **kw: calls.append((a[0], kw)) or real(*a, **kw))
    src = str(embedded_data_dir() / "tickets.csv")
    assert main(["tickets", "prepare", "--input", src, "--out", str(tmp_path / "a")]) == 0
    assert main(["tickets", "prepare", "--input", src, "--out", str(tmp_path / "b"), "--seed", "14"]) == 0
    capsys.readouterr()
    assert calls == [("tickets", {"val_fraction": 0.1, "test_fraction": 0.1, "seed": 13}),
                     ("tickets", {"val_fraction": 0.1, "test_fraction": 0.1, "seed": 14})]
    assert sha256_file(tmp_path / "a" / "test.jsonl") != sha256_file(tmp_path / "b" / "test.jsonl")
