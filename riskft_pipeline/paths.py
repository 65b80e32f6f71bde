"""Where the project keeps its state: one folder, ``.riskft/`` in the repo root, overridable by ``RISKFT_HOME``.

Every default location the project writes to is derived from :func:`riskft_home`, so deleting that one folder resets
the project (Dagster instance, MLflow database and artifacts, base-model cache, materialised data, runs).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The checkout this package lives in (editable install), else the current directory."""
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file():
        return candidate
    return Path.cwd()


def riskft_home() -> Path:
    env = os.environ.get("RISKFT_HOME")
    home = Path(env).expanduser() if env else repo_root() / ".riskft"
    return home.resolve()


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or riskft_home() / "dagster").resolve()


def mlflow_dir() -> Path:
    return riskft_home() / "mlflow"


def default_tracking_uri() -> str:
    return f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def default_artifact_root() -> str:
    return (mlflow_dir() / "artifacts").as_uri()


def model_cache_dir() -> Path:
    return riskft_home() / "models"


def data_dir() -> Path:
    """Materialised data (assets' outputs)."""
    return riskft_home() / "data"


def runs_dir() -> Path:
    """Training runs: adapters, checkpoints, evaluation outputs. Scoped by run id."""
    return riskft_home() / "runs"


def incoming_dir() -> Path:
    return Path(os.environ.get("RISKFT_INCOMING") or riskft_home() / "incoming").resolve()


def embedded_data_dir() -> Path:
    """The default data the project generated and ships in ``data/``."""
    return repo_root() / "data"


def configs_dir() -> Path:
    return repo_root() / "configs"


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout, when present (tests and benchmarks only)."""
    env = os.environ.get("RISKFT_SHARED_DATA")
    p = Path(env) if env else repo_root().parent / "shared" / "data"
    return p if p.is_dir() else None
