"""MLflow tracking and registry: the only package of riskft_pipeline that imports mlflow.

- :mod:`.client`: tracking URI resolution (:func:`configure`), error translation; :mod:`.errors`: TrackingError
- :mod:`.runs`: one run per training (params, loss curve via a plain callback, evaluation metrics and artifacts)
- :mod:`.registry`: adapter → model version, the ``champion`` gate, failure-safe ordering
- :mod:`.pyfunc` (+ ``model_code/``): the pyfunc models that load base + adapter
- :mod:`.lineage`: the version-tag schema, :func:`get_lineage`, :func:`verify_lineage`

Names are imported lazily, so ``from riskft_pipeline.tracking.errors import TrackingError`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrackingError": "errors",
    "configure": "client",
    "start_training_run": "runs",
    "metrics_callback": "runs",
    "log_metrics": "runs",
    "log_report": "runs",
    "register_adapter": "registry",
    "get_lineage": "lineage",
    "verify_lineage": "lineage",
    "has_mismatch": "lineage",
    "format_lineage_text": "lineage",
}
__all__ = [
    "TrackingError",
    "configure",
    "format_lineage_text",
    "get_lineage",
    "has_mismatch",
    "log_metrics",
    "log_report",
    "metrics_callback",
    "register_adapter",
    "start_training_run",
    "verify_lineage",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
