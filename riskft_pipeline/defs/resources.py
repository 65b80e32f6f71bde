"""Resources: MLflow tracking as a small ``ConfigurableResource`` (``dagster-mlflow`` is legacy-API and pins an old
pandas). The resource only carries configuration; the work is done by ``riskft_pipeline.tracking``."""

from __future__ import annotations

import os

import dagster as dg


class MLflowTracking(dg.ConfigurableResource):
    """Where runs and registered models go. Empty means: ``$RISKFT_TRACKING_URI``, else ``$MLFLOW_TRACKING_URI``, else
    the SQLite database under ``.riskft/mlflow/`` — a ``http://127.0.0.1:5000`` server or ``postgresql://…`` works
    the same way, by configuration only."""

    tracking_uri: str = ""

    def resolved_uri(self) -> str:
        from riskft_pipeline.tracking.client import configure

        uri = self.tracking_uri or os.environ.get("RISKFT_TRACKING_URI") or None
        return configure(uri)
