"""Create the project's state folder and the Dagster instance config inside it.

The Dagster instance uses SQLite under ``$DAGSTER_HOME`` by default; setting ``RISKFT_DAGSTER_PG_URL`` (a
``postgresql+psycopg2://user:password@127.0.0.1:5432/db`` URL) switches run/event/schedule storage to PostgreSQL through ``dagster-postgres``: configuration
only, no code changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from riskft_pipeline import paths

TRAINING_TAG = "riskft/training"
"""Runs that train carry this tag; the instance lets one such run go at a time (training saturates the cores)."""


def instance_config() -> dict:
    config: dict = {
        "telemetry": {"enabled": False},
        "concurrency": {
            "runs": {
                "max_concurrent_runs": int(os.environ.get("RISKFT_MAX_CONCURRENT_RUNS", "4")),
                "tag_concurrency_limits": [{"key": TRAINING_TAG, "limit": 1}],
            }
        },
    }
    pg_url = os.environ.get("RISKFT_DAGSTER_PG_URL")
    if pg_url:
        config["storage"] = {"postgres": {"postgres_url": pg_url}}
    return config


def init_home() -> Path:
    """Make ``RISKFT_HOME`` and ``DAGSTER_HOME`` (with its ``dagster.yaml``) exist; idempotent. Returns RISKFT_HOME."""
    home = paths.riskft_home()
    for d in (home, paths.mlflow_dir(), paths.model_cache_dir(), paths.data_dir(), paths.runs_dir(),
              paths.incoming_dir()):
        d.mkdir(parents=True, exist_ok=True)
    dagster_home = paths.dagster_home()
    dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(dagster_home))
    target = dagster_home / "dagster.yaml"
    text = "# written by `riskft init-home`; edit RISKFT_* environment variables instead of this file\n"
    text += yaml.safe_dump(instance_config(), sort_keys=False)
    if not target.exists() or target.read_text() != text:
        tmp = target.with_suffix(".yaml.tmp")
        tmp.write_text(text)
        os.replace(tmp, target)
    return home
