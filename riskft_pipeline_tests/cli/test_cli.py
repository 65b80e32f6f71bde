"""`riskft` as a user types it: good and bad files, exit codes, one-line errors, no traceback without --debug."""

import json
import subprocess
import sys

import pytest

from riskft_pipeline import paths
from riskft_pipeline.cli import main


def test_tickets_prepare_good_file(tmp_path, capsys):
    out = tmp_path / "prep"
    assert main(["tickets", "prepare", "--input", str(paths.embedded_data_dir() / "tickets.csv"),
                 "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["raw_rows"] == printed["clean_rows"] + printed["quarantined_rows"]
    for name in ("clean.parquet", "quarantine.csv", "train.jsonl", "val.jsonl", "test.jsonl", "summary.json"):
        assert (out / name).is_file(), name


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"\x00\x01\x02\xff" * 100, "not a"),
    (b"number,type\nINC1,Incident\n", "short_description"),
])
def test_tickets_prepare_unusable_file(tmp_path, capsys, content, expected):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    code = main(["tickets", "prepare", "--input", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and expected in err.lower(), err
    assert not (tmp_path / "out").exists(), "nothing half-written left behind"


def test_missing_file_subprocess_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "riskft_pipeline.cli", "tickets", "prepare", "--input",
                           str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "missing.csv" in proc.stderr


def test_debug_shows_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "riskft_pipeline.cli", "tickets", "prepare", "--input",
                           str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"), "--debug"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_bad_recipe_is_a_clear_error(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\ntrain: {learning_rat: 0.1}\n")
    (tmp_path / "d").mkdir()
    for n in ("train", "val"):
        (tmp_path / "d" / f"{n}.jsonl").write_text("")
    code = main(["train", "--recipe", str(recipe), "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"),
                 "--no-track"])
    err = capsys.readouterr().err
    assert code == 2 and "learning_rat" in err


@pytest.mark.slow
def test_risk_evaluate_writes_the_report_scripts_read(tmp_path, capsys):
    """`riskft risk evaluate`: one CSV → time split → tiny training → report.json in the documented shape, report.md
    with the table, roc.png; the effective recipe (with the override) is kept beside it."""
    out = tmp_path / "study"
    rc = main(["risk", "study", "--input", str(paths.embedded_data_dir() / "changes.csv"), "--recipe",
               "risk_tiny.yaml", "--out", str(out), "--max-train-examples", "24", "--metrics-only", "--quiet"])
    assert rc == 0
    stdout = capsys.readouterr().out  # the trainer prints its log dicts too; the result is the indented JSON last
    printed = json.loads(stdout[stdout.index("{\n"):])
    report = json.loads((out / "report.json").read_text())
    assert set(report["methods"]) == {"model", "fused", "lapredict", "logreg", "gbm"}
    assert report["shipped"] == "fused" and report["primary_metric"]["value"] == report["methods"]["fused"]["auc"]
    for scores in report["methods"].values():
        assert {"auc", "f1", "recall_at_20_effort", "effort_at_20_recall", "popt"} <= set(scores)
    assert set(report["tier_bug_rates"]) == {"low", "medium", "high"}
    assert 0.0 <= report["faithful_rate"] <= 1.0
    assert report["split"]["sizes"]["test"] > 0 and report["tier_cuts"]["quantiles"] == [0.5, 0.8]
    assert printed["methods"] == report["methods"]
    assert "| lapredict |" in (out / "report.md").read_text() and (out / "roc.png").stat().st_size > 1000
    assert "max_train_examples: 24" in (out / "recipe.yaml").read_text()
    assert "include_text: false" in (out / "recipe.yaml").read_text()
    assert "Message:" not in (out / "data" / "train.jsonl").read_text(), "metrics only: no commit text in prompts"
    assert json.loads((out / "timings.json").read_text())["train_examples"] == 24


def test_risk_evaluate_refuses_a_ticket_recipe_and_a_missing_file(tmp_path, capsys):
    changes = str(paths.embedded_data_dir() / "changes.csv")
    assert main(["risk", "evaluate", "--input", changes, "--recipe", "tickets_tiny.yaml", "--out",
                 str(tmp_path / "a")]) == 2
    assert "not 'risk'" in capsys.readouterr().err
    assert main(["risk", "evaluate", "--input", str(tmp_path / "none.csv"), "--recipe", "risk_tiny.yaml", "--out",
                 str(tmp_path / "b")]) == 2
    assert main(["risk", "prepare", "--input", changes, "--out", str(tmp_path / "p")]) == 0
    prepared = json.loads(capsys.readouterr().out)
    assert prepared["raw_rows"] == prepared["clean_rows"] + prepared["quarantined_rows"]
    assert (tmp_path / "p" / "test.jsonl").is_file()


def test_every_option_has_help_text():
    """`--help` of every command describes every option and positional (what a new user reads first)."""
    import argparse

    from riskft_pipeline.cli import build_parser

    missing, todo = [], [("riskft", build_parser())]
    while todo:
        name, parser = todo.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {cmd}", sub) for cmd, sub in action.choices.items()]
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_evaluate_takes_the_run_folder_or_the_adapter_folder(tmp_path):
    from riskft_pipeline.cli.model import adapter_folder as _adapter_folder

    (tmp_path / "run" / "adapter").mkdir(parents=True)
    (tmp_path / "run" / "adapter" / "riskft_adapter.json").write_text("{}")
    assert _adapter_folder(str(tmp_path / "run")) == tmp_path / "run" / "adapter"
    assert _adapter_folder(str(tmp_path / "run" / "adapter")) == tmp_path / "run" / "adapter"
    assert _adapter_folder(str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
