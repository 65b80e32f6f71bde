"""The MLflow UI that ``make mlflow-ui`` serves: MLflow's own tracking server, with its page opening on the runs view.

MLflow 3.17's UI picks between its classic runs view and its GenAI traces view in the browser only (see
:mod:`riskft_pipeline.tracking.urls`): the page's ``workflowType`` parameter, else the choice the browser stored when
the user last flipped the sidebar switch *GenAI* / *Model training* (localStorage ``mlflow.workflowType_v1``, as
JSON: ``"machine_learning"``), else GenAI. This app is MLflow's server app with one change: the single-page app's
HTML page (MLflow's ``serve`` view, its ``index.html``) carries a one-line script that stores the runs view as that
choice when the browser has none yet. A choice made with the switch is kept; the API, the static files and every
other route are MLflow's own.

It plugs in the way MLflow's ``basic-auth`` does, as an ``mlflow.app`` entry point (``riskft-ui``, pyproject.toml):
``mlflow server --app-name riskft-ui ...`` is what ``make mlflow-ui`` runs. MLflow calls :func:`create_app` in each
worker: under its default server (uvicorn) it returns MLflow's FastAPI app around the Flask app, under
``--gunicorn-opts`` / ``--waitress-opts`` the Flask app itself.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import Flask, Response
from mlflow.environment_variables import _MLFLOW_SGI_NAME
from mlflow.server import app as mlflow_app

from riskft_pipeline.tracking.urls import ML_VIEW

STORAGE_KEY = "mlflow.workflowType_v1"  # MLflow's useLocalStorage({key: "mlflow.workflowType", version: 1})
RUNS_VIEW = ML_VIEW.partition("=")[2]  # machine_learning
_key, _value = json.dumps(STORAGE_KEY), json.dumps(json.dumps(RUNS_VIEW))
DEFAULT_VIEW_SCRIPT = (f"<script>try{{if(!localStorage.getItem({_key}))localStorage.setItem({_key},{_value})}}"
                       "catch(e){}</script>")

_log = logging.getLogger(__name__)


def with_default_view(html: str) -> str:
    """``html`` with :data:`DEFAULT_VIEW_SCRIPT` at the end of its head (before MLflow's deferred bundle runs)."""
    head, end, rest = html.partition("</head>")
    if not end:
        _log.warning("MLflow's index.html has no </head>: served as is, the UI opens on MLflow's default view")
        return html
    return head + DEFAULT_VIEW_SCRIPT + end + rest


def create_app(app: Flask = mlflow_app):
    """MLflow's server ``app`` with its page serving :func:`with_default_view` of MLflow's ``index.html``."""
    page = Path(app.static_folder, "index.html")
    if page.exists():  # else MLflow's own view explains that the UI was not built
        html = with_default_view(page.read_text(encoding="utf-8"))
        app.view_functions["serve"] = lambda: Response(html, mimetype="text/html")
    if _MLFLOW_SGI_NAME.get() == "uvicorn":
        from mlflow.server.fastapi_app import create_fastapi_app

        return create_fastapi_app(app)
    return app
