"""``riskft run`` / ``riskft pipeline``: the chains offered are the registry's, and ``all`` refuses a single chain's
options before anything runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from riskft_pipeline.cli import build_parser, main
from riskft_pipeline.core.tasks import TASKS


def _choices(command: str) -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return list(next(a for a in sub._actions if a.dest == "chain").choices)


def test_the_chains_offered_are_the_registrys():
    assert _choices("run") == list(TASKS)
    assert _choices("pipeline") == [*TASKS, "all"]


def test_all_chains_refuse_one_chains_input(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    assert main(["pipeline", "all", "--input", "x.csv"]) == 2
    assert "need a single chain" in capsys.readouterr().err
    assert not (tmp_path / "home").exists(), "refused before the home folder is made"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_make_run_reads_like_a_report(capfd, tmp_path, monkeypatch):
    """``riskft pipeline tickets`` (what ``make run`` does, one chain, tiny recipe): the terminal shows the log
    file, a line per stage with its time, progress during training and evaluation, the method table, the decision
    and why, and the pages to open; Dagster's DEBUG events and warnings are in the log file, not on the terminal.
    The asset pages' metadata has the loss-curve image, a predictions table and links; the version's description
    says in words how it compares with the baselines."""
    import dagster as dg
    from mlflow import MlflowClient

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    db = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("RISKFT_TRACKING_URI", db)
    assert main(["pipeline", "tickets", "--recipe", "tickets_tiny.yaml"]) == 0
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert all(line.startswith("[riskft]") for line in lines), [x for x in lines if not x.startswith("[riskft]")]
    assert "DEBUG" not in out and "Warning" not in out and "it/s" not in out and not err.strip(), err[-2000:]
    log_file = Path(re.search(r"full log .*: (\S+\.log)", out).group(1))
    log = log_file.read_text(encoding="utf-8")
    assert "DEBUG" in log and "STEP_SUCCESS" in log, "the full Dagster log is in the file"
    for stage in ("raw_tickets", "clean_tickets", "ticket_splits", "ticket_adapter", "ticket_eval_report",
                  "ticket_model_version"):
        assert re.search(rf"\] +{stage} +done in \d+\.\d s", out), stage
    assert re.search(r"ticket_adapter +training: step \d+/\d+ \(\d+%\)", out)
    assert re.search(r"ticket_eval_report +evaluation: ", out)
    assert re.search(r"clean_tickets +check clean_tickets_schema: passed", out)
    assert re.search(r"fused +\d\.\d{4}  <- shipped", out)
    assert re.search(r"ticket-extractor version 1 (became|did NOT become) champion \(gate: ", out)
    run_id = re.search(r"dagster run ([0-9a-f-]{36})", out).group(1)
    assert "Dagster asset   http://127.0.0.1:3000/assets/ticket_model_version" in out
    assert f"Dagster run     http://127.0.0.1:3000/runs/{run_id}" in out
    assert re.search(r"MLflow run      http://127\.0\.0\.1:5000/#/experiments/\d+/runs/[0-9a-f]{32}\?"
                     r"workflowType=machine_learning", out)
    assert "MLflow version  http://127.0.0.1:5000/#/models/ticket-extractor/versions/1" in out

    with dg.DagsterInstance.get() as instance:
        def metadata(asset):
            record = instance.get_latest_materialization_event(dg.AssetKey(asset))
            assert record.run_id == run_id
            return record.asset_materialization.metadata

        adapter, report_md, version_md = (metadata(a) for a in ("ticket_adapter", "ticket_eval_report",
                                                                "ticket_model_version"))
        logs = [e.user_message for e in instance.all_logs(run_id) if e.dagster_event is None]
    assert adapter["loss_curve"].value.startswith("![loss_curve.png](data:image/png;base64,")
    assert isinstance(adapter["mlflow_run"], dg.UrlMetadataValue) and "/runs/" in adapter["mlflow_run"].url
    table = report_md["predictions_sample"]
    assert isinstance(table, dg.TableMetadataValue) and len(table.records) == 4  # the tiny test split
    assert {"id", "expected.category", "predicted.category"} <= {c.name for c in table.schema.columns}
    assert "data:image/png;base64," in report_md["report"].value and "](confusion_" not in report_md["report"].value
    assert isinstance(report_md["mean_field_accuracy_fused"], dg.FloatMetadataValue)
    assert isinstance(version_md["mlflow_model_version"], dg.UrlMetadataValue)
    assert any(m.startswith("[progress] training: step") for m in logs), "progress is in the Dagster event log"
    assert any(m.startswith("[progress] evaluation:") for m in logs)

    mv = MlflowClient(db, db).get_model_version("ticket-extractor", "1")
    lost = version_md["baselines"].value
    if "LOSES" in report_md["verdict"].value:
        assert lost.startswith("LOSES to baseline") and "loses to the baseline" in mv.description
        assert "loses to" in out
    else:
        assert "beats or ties every baseline" in mv.description
    assert "Base model: offline:smollm2-135m-instruct" in mv.description and "Data (sha256): input" in mv.description
    experiment = MlflowClient(db, db).get_experiment_by_name("ticket-extractor")
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"
