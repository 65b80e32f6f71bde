"""Where a person opens what a run made: the MLflow UI's run, experiment and model-version pages, the Dagster UI's
asset and run pages. Plain strings (no MLflow import), so the CLI, the Dagster assets and the docs agree.

The UIs are the ones ``make mlflow-ui`` and ``make ui`` start: ``http://127.0.0.1:5000`` and ``http://127.0.0.1:3000``
(``RISKFT_MLFLOW_UI_URL`` / ``RISKFT_DAGSTER_UI_URL`` override them). When the tracking URI is itself an MLflow server
(``http(s)://``), its address is the UI's.

Which view MLflow's UI opens an experiment in (classic runs or GenAI traces) is decided in the browser only. In the
installed MLflow (3.17, ``mlflow/server/js/build/static/js/main.*.js``, module ``WorkflowTypeContext``) the view is
the ``workflowType`` query parameter of the page when it is ``genai`` or ``machine_learning``, else the value the
browser stored when the user last flipped the sidebar's *GenAI* / *Model training* switch (localStorage
``mlflow.workflowType_v1``), else ``genai``. The experiment's ``mlflow.experimentKind`` tag (which
:func:`riskft_pipeline.tracking.client.ensure_experiment` still sets) is no longer read for that: ``useExperimentKind``
derives the kind from the view while the built-in flag ``shouldEnableWorkflowBasedNavigation`` is on, and it is
hard-wired on. No MLflow setting chooses it: ``/ajax-api/3.0/mlflow/server-info`` carries no such setting and no
environment variable or ``mlflow server`` option sets one. So every MLflow link here carries :data:`ML_VIEW` (it works
on any MLflow server), and the UI ``make mlflow-ui`` serves (:mod:`riskft_pipeline.tracking.ui_app`) stores the runs
view as the browser's choice when it has none, so a bare address and an experiment opened from the list (which does
not keep the parameter) open on runs too.
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
    # the GenAI view hides "Model registry" from the sidebar; the page itself opens either way
    return f"{mlflow_ui(tracking_uri)}/#/models/{quote(model_name, safe='')}/versions/{version}?{ML_VIEW}"


def experiments_url(tracking_uri: str | None = None) -> str:
    """The experiment list; an experiment opened from it loses the parameter (see the module docstring)."""
    return f"{mlflow_ui(tracking_uri)}/#/experiments?{ML_VIEW}"


def models_url(tracking_uri: str | None = None) -> str:
    return f"{mlflow_ui(tracking_uri)}/#/models?{ML_VIEW}"


def asset_url(asset_name: str) -> str:
    return f"{dagster_ui()}/assets/{quote(asset_name, safe='/')}"


def dagster_run_url(run_id: str) -> str:
    return f"{dagster_ui()}/runs/{run_id}"
