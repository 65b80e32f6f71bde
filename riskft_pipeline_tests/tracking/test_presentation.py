"""What a person reads in MLflow: the version's description in words, experiments that open on their runs, and the
UI links the CLI and the Dagster assets print."""

from __future__ import annotations

from riskft_pipeline.tracking.client import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, ensure_experiment
from riskft_pipeline.tracking.registry import description
from riskft_pipeline.tracking.urls import (
    ML_VIEW,
    asset_url,
    experiment_url,
    experiments_url,
    model_version_url,
    models_url,
    run_url,
)

REPORT = {"primary_metric": {"name": "mean_field_accuracy", "value": 0.82}, "shipped": "fused",
          "mean_field_accuracy": {"fused": 0.82, "model": 0.79, "tfidf_lr": 0.853, "majority": 0.4}}
TAGS = {"riskft.file.input.sha256": "a" * 64, "riskft.file.split.test.sha256": "b" * 64,
        "riskft.file.predictor.sha256": "c" * 64, "riskft.base_model.name": "offline:smollm2-135m-instruct",
        "riskft.base_model.weights_sha256": "d" * 64, "riskft.recipe_hash": "e" * 64}


def _decision(promoted: bool) -> dict:
    return {"model_name": "ticket-extractor", "version": "3", "promoted": promoted, "alias": "champion",
            "reason": "promoted to @champion: no current @champion" if promoted else "not promoted: not better",
            "primary_metric": {"name": "mean_field_accuracy", "value": 0.82}, "test_split_sha256": "b" * 64,
            "comparison": None}


def test_a_version_that_loses_to_a_baseline_says_so_in_words():
    text = description(_decision(True), REPORT, TAGS)
    assert text.startswith("**ticket-extractor version 3: promoted to @champion.**")
    assert "| fused (shipped) | 0.8200 |" in text and "| tfidf_lr | 0.8530 |" in text
    assert "loses to the baseline tfidf_lr (0.8530) on mean_field_accuracy" in text
    assert "promoted all the same because the gate compares a version with the current champion" in text
    assert "Data (sha256): input aaaaaaaaaaaa, split.test bbbbbbbbbbbb." in text
    assert "Base model: offline:smollm2-135m-instruct (weights sha256 dddddddddddd)" in text
    assert "`riskft lineage ticket-extractor 3 --verify`" in text

    refused = description(_decision(False), REPORT, TAGS)
    assert refused.startswith("**ticket-extractor version 3: not promoted to @champion.**")
    assert "loses to the baseline tfidf_lr" in refused and "promoted all the same" not in refused


def test_a_version_that_beats_every_baseline_says_that():
    report = {**REPORT, "mean_field_accuracy": {"fused": 0.9, "model": 0.79, "tfidf_lr": 0.853}}
    text = description(_decision(True), report, TAGS)
    assert "beats or ties every baseline on mean_field_accuracy" in text and "loses" not in text


def test_experiments_are_made_to_open_on_their_runs(store):
    made = ensure_experiment(store.client, "kind-test", store.uri)
    assert store.client.get_experiment(made).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    older = store.client.create_experiment("made-before-the-tag")  # e.g. by an earlier release of riskft
    assert EXPERIMENT_KIND_TAG not in store.client.get_experiment(older).tags
    assert ensure_experiment(store.client, "made-before-the-tag", store.uri) == older
    assert store.client.get_experiment(older).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND


def test_ui_links(monkeypatch):
    for var in ("RISKFT_MLFLOW_UI_URL", "RISKFT_DAGSTER_UI_URL"):
        monkeypatch.delenv(var, raising=False)
    assert run_url("4", "abc", "sqlite:///x.db") == \
        "http://127.0.0.1:5000/#/experiments/4/runs/abc?workflowType=machine_learning"
    assert run_url("4", "abc", "http://mlflow.internal:8080/") == \
        "http://mlflow.internal:8080/#/experiments/4/runs/abc?workflowType=machine_learning"
    assert model_version_url("change-risk", 2) == \
        "http://127.0.0.1:5000/#/models/change-risk/versions/2?workflowType=machine_learning"
    assert experiment_url("4") == "http://127.0.0.1:5000/#/experiments/4/runs?workflowType=machine_learning"
    assert experiments_url() == "http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
    assert models_url() == "http://127.0.0.1:5000/#/models?workflowType=machine_learning"
    assert asset_url("risk_model_version") == "http://127.0.0.1:3000/assets/risk_model_version"
    monkeypatch.setenv("RISKFT_DAGSTER_UI_URL", "http://127.0.0.1:3333/")
    assert asset_url("raw_tickets") == "http://127.0.0.1:3333/assets/raw_tickets"


def test_the_installed_mlflow_ui_picks_its_view_from_the_link():
    """What the links rely on, read from the installed MLflow's built UI: the view is the page's ``workflowType``
    parameter (``genai`` / ``machine_learning``), else the browser's stored choice, else GenAI. If a release changes
    this (a server setting, another parameter), this fails and ``tracking/urls.py`` and docs/operations.md §3 need
    a look."""
    from pathlib import Path

    import mlflow

    build = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"
    main = next(build.glob("main.*.js")).read_text(encoding="utf-8")
    name, value = ML_VIEW.split("=")
    assert 'key:"mlflow.workflowType"' in main, "the stored choice"
    assert f'.get("{name}")' in main and f'MACHINE_LEARNING="{value}"' in main, "the link parameter"
    assert 'GENAI="genai"' in main
