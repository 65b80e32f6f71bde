"""Where a person opens what a run made: the MLflow UI's run, experiment and model-version pages, the Dagster UI's
asset and run pages. Plain strings (no MLflow import), so the CLI, the Dagster assets and the docs agree.

The UIs are the ones ``make mlflow-ui`` and ``make ui`` start: ``http://127.0.0.1:5000`` and ``http://127.0.0.1:3000``
(``RISKFT_MLFLOW_UI_URL`` / ``RISKFT_DAGSTER_UI_URL`` override them). When the tracking URI is itself an MLflow server
(``http(s)://``), its address is the UI's.

MLflow 3's UI opens an experiment in its GenAI view (traces) unless told otherwise; it chooses by the
``workflowType`` query parameter (remembered in the browser) and, in releases before that switch, by the
experiment's ``mlflow.experimentKind`` tag, which :func:`riskft_pipeline.tracking.client.ensure_experiment` sets.
Links here carry ``workflowType=machine_learning`` so they open the training runs view.
"""

from __future__ import annotations

import os
from urllib.parse import quote

MLFLOW_UI = "http://127.0.0.1:5000"
DAGSTER_UI = "http://127.0.0.1:3000"
ML_VIEW = "workflowType=machine_learning"


def mlflow_ui(tracking_uri: str | None = None) -> str:
    explicit = os.environ.get("RISKFT_MLFLOW_UI_URL")
    if explicit:
        return explicit.rstrip("/")
    if tracking_uri and tracking_uri.split(":", 1)[0] in ("http", "https"):
        return tracking_uri.rstrip("/")
    return MLFLOW_UI


def dagster_ui() -> str:
    return (os.environ.get("RISKFT_DAGSTER_UI_URL") or DAGSTER_UI).rstrip("/")


def experiment_url(experiment_id: str, tracking_uri: str | None = None) -> str:
    return f"{mlflow_ui(tracking_uri)}/#/experiments/{experiment_id}/runs?{ML_VIEW}"


def run_url(experiment_id: str, run_id: str, tracking_uri: str | None = None) -> str:
    return f"{mlflow_ui(tracking_uri)}/#/experiments/{experiment_id}/runs/{run_id}?{ML_VIEW}"


def model_version_url(model_name: str, version: str | int, tracking_uri: str | None = None) -> str:
    return f"{mlflow_ui(tracking_uri)}/#/models/{quote(model_name, safe='')}/versions/{version}"


def asset_url(asset_name: str) -> str:
    return f"{dagster_ui()}/assets/{quote(asset_name, safe='/')}"


def dagster_run_url(run_id: str) -> str:
    return f"{dagster_ui()}/runs/{run_id}"
