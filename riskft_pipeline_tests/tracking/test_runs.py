"""One MLflow run per training: params, loss curve through the plain callback, evaluation metrics and artifacts."""

from __future__ import annotations

import json
import math
import socket
import time

import mlflow.artifacts
import pytest

from riskft_pipeline.core.config import recipe_dict, recipe_hash
from riskft_pipeline.tracking.client import display_uri, resolve_tracking_uri
from riskft_pipeline.tracking.runs import (
    flatten_metrics,
    log_metrics,
    log_report,
    metrics_callback,
    start_training_run,
)


def _artifacts(client, run_id: str, path: str | None = None) -> set[str]:
    return {f.path for f in client.list_artifacts(run_id, path)}


def test_run_logs_recipe_params_versions_and_loss_curve(store, recipe):
    with start_training_run("runs-test", "train-1", recipe=recipe, tags={"riskft.dagster_run_id": "dg-7",
                                                                       "ignored": None}) as run:
        callback = metrics_callback(run.run_id)
        for step, loss in ((5, 2.5), (10, 1.5), (15, 0.75)):
            callback(step, {"loss": loss, "learning_rate": 1e-4, "epoch": step / 15, "flag": True,
                            "note": "text", "grad_norm": math.nan})

    logged = store.client.get_run(run.run_id)
    params, tags = logged.data.params, logged.data.tags
    assert logged.info.status == "FINISHED"
    assert params["lora.r"] == str(recipe.lora.r) and params["lora.target_modules"] == "all-linear"
    assert params["seed"] == params["train.seed"] == str(recipe.train.seed)
    assert params["recipe_hash"] == tags["riskft.recipe_hash"] == recipe_hash(recipe)
    assert params["lib.mlflow"] == mlflow.__version__ and "lib.torch" in params and "lib.python" in params
    assert tags["riskft.dagster_run_id"] == "dg-7" and "ignored" not in tags
    assert "riskft.git.commit" in tags and tags["riskft.git.dirty"] in ("true", "false", "unknown")

    history = store.client.get_metric_history(run.run_id, "train/loss")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [(5, 2.5), (10, 1.5), (15, 0.75)]
    assert callback.logged == 9  # loss, learning_rate, epoch per call; bool, text and NaN are not metrics
    assert not {"train/flag", "train/note", "train/grad_norm"} & set(logged.data.metrics)

    assert {"recipe/recipe.json", "recipe/recipe.yaml"} <= _artifacts(store.client, run.run_id, "recipe")
    assert mlflow.artifacts.load_dict(f"runs:/{run.run_id}/recipe/recipe.json") == recipe_dict(recipe)


def test_a_failing_training_block_marks_the_run_failed(store, recipe):
    with (pytest.raises(RuntimeError, match="out of memory"),
          start_training_run("runs-test", "train-fails", recipe=recipe) as run):
        raise RuntimeError("out of memory")
    assert store.client.get_run(run.run_id).info.status == "FAILED"


def test_log_report_flattens_every_metric_and_logs_the_files(store, recipe, tmp_path):
    report = {
        "fields": {"category": {"model": {"accuracy": 0.9, "macro_f1": 0.6},
                                "tfidf_lr": {"accuracy": 0.8, "macro_f1": float("nan")}}},
        "methods": {"model": {"auc": 0.71}, "la_baseline": {"auc": 0.66}},
        "valid_json_rate": 1.0,
        "n_test": 120,
        "labels": ["a", "b"],
        "beats": {"category": True},
    }
    (tmp_path / "report.md").write_text("# Report\n", encoding="utf-8")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "confusion_category.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in range(120)))
    with start_training_run("runs-test", "eval", recipe=recipe) as run:
        result = log_report(run.run_id, report, tmp_path)

    metrics = store.client.get_run(run.run_id).data.metrics
    assert metrics["fields.category.model.accuracy"] == 0.9
    assert metrics["methods.model.auc"] == 0.71 and metrics["n_test"] == 120
    assert "fields.category.tfidf_lr.macro_f1" not in metrics and "beats.category" not in metrics
    assert result["metrics"] == 7
    assert _artifacts(store.client, run.run_id, "evaluation") >= {
        "evaluation/report.json", "evaluation/report.md", "evaluation/plots", "evaluation/predictions_sample.jsonl"}
    assert _artifacts(store.client, run.run_id, "evaluation/plots") == {"evaluation/plots/confusion_category.png"}
    sample = mlflow.artifacts.load_text(f"runs:/{run.run_id}/evaluation/predictions_sample.jsonl")
    assert sample.splitlines() == [json.dumps({"id": i}) for i in range(50)]
    assert mlflow.artifacts.load_dict(f"runs:/{run.run_id}/evaluation/report.json")["n_test"] == 120


def test_flatten_metrics_keeps_finite_numbers_only():
    report = {"a": {"b": 1, "c": {"d": 0.5}}, "e": True, "f": "x", "g": [1, 2], "h": float("inf"), "i j(k)": 2}
    assert flatten_metrics(report) == {"a.b": 1.0, "a.c.d": 0.5, "i j_k_": 2.0}


def test_metrics_callback_survives_an_unreachable_server(store, monkeypatch, caplog):
    """Losing the tracker must not kill a training run: one warning, then the callback stops trying."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    for var in ("RISKFT_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(var, store.uri)  # an explicit URI becomes the process default: restore it afterwards
    callback = metrics_callback("0" * 32, tracking_uri=f"http://127.0.0.1:{port}")
    callback(1, {"loss": 1.0})
    assert callback.error is not None and "unreachable" in str(callback.error)
    assert f"127.0.0.1:{port}" in str(callback.error)
    t0 = time.perf_counter()
    callback(2, {"loss": 0.5})
    assert time.perf_counter() - t0 < 0.1
    assert any("no longer sent to MLflow" in r.getMessage() for r in caplog.records)


def test_tracking_uri_precedence_and_password_hiding(monkeypatch, store):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow-env:5000")
    monkeypatch.setenv("RISKFT_TRACKING_URI", "http://riskft-env:5000")
    assert resolve_tracking_uri("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_tracking_uri() == "http://riskft-env:5000"
    monkeypatch.delenv("RISKFT_TRACKING_URI")
    assert resolve_tracking_uri() == "http://mlflow-env:5000"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert resolve_tracking_uri() == f"sqlite:///{store.home / 'mlflow' / 'mlflow.db'}"
    assert display_uri("postgresql://riskft:s3cret@db:5432/mlflow") == "postgresql://riskft:***@db:5432/mlflow"


def test_log_metrics_skips_what_is_not_a_number(store, recipe):
    with start_training_run("runs-test", "summary", recipe=recipe) as run:
        n = log_metrics(run.run_id, {"train/final_loss": 0.5, "train/steps": 12, "train/ok": True,
                                     "train/name": "x", "train/none": None})
    assert n == 2
    assert store.client.get_run(run.run_id).data.metrics == {"train/final_loss": 0.5, "train/steps": 12.0}
