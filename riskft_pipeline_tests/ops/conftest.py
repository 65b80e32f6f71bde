"""Fixtures for the operations tests: a private RISKFT_HOME per test (sharing the session's converted base model),
an MLflow store copied from one migrated template, and small input files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskft_pipeline import paths
from riskft_pipeline_tests.ops.helpers import free_port

TRACKING_ENV = ("RISKFT_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "RISKFT_INCOMING",
                "RISKFT_DAGSTER_PG_URL")


@pytest.fixture
def home(tmp_path, monkeypatch, session_home) -> Path:
    """A fresh RISKFT_HOME/DAGSTER_HOME; ``models/`` links to the session's so the base model converts once."""
    h = tmp_path / "home"
    (session_home / "models").mkdir(parents=True, exist_ok=True)
    h.mkdir()
    (h / "models").symlink_to(session_home / "models", target_is_directory=True)
    for var in TRACKING_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RISKFT_HOME", str(h))
    monkeypatch.setenv("DAGSTER_HOME", str(h / "dagster"))
    monkeypatch.setenv("RISKFT_INCOMING_SETTLE_S", "0")
    return h


@pytest.fixture
def instance(home):
    """A throw-away Dagster instance (sensor and job tests)."""
    import dagster as dg

    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """An empty, migrated MLflow SQLite database (migrations take seconds; copying it takes none)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("mlflow-template")
    SqlAlchemyStore(f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri())
    return folder / "mlflow.db"


@pytest.fixture
def mlflow_uri(home, template_db) -> str:
    """This test's MLflow store under its RISKFT_HOME, configured as the process default."""
    import mlflow

    from riskft_pipeline.tracking.client import configure

    db = paths.mlflow_dir() / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db, db)
    uri = configure(f"sqlite:///{db}")
    yield uri
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture(scope="session")
def small_tickets(tmp_path_factory) -> Path:
    """A generated 60-row labelled export (with the generator's deliberate defects)."""
    from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv

    path = tmp_path_factory.mktemp("tickets") / "tickets.csv"
    write_tickets_csv(generate_tickets(60, seed=3), path)
    return path


@pytest.fixture(scope="session")
def ddp_run(tmp_path_factory, session_home) -> dict:
    """The tiny ticket recipe trained by two CPU processes (torchrun, gloo) through the real ``sft`` main, with
    :mod:`.ddp_probe` recording what each rank saw. Shared with the enrichment tests, which need an adapter that
    answers in JSON (~1 min on 2 cores)."""
    import os
    import subprocess
    import sys

    from riskft_pipeline.core.config import BaseModelConfig
    from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv
    from riskft_pipeline.core.tickets.prepare import prepare
    from riskft_pipeline.training.base_model import resolve_base

    resolve_base(BaseModelConfig())  # convert the offline base once, before two processes want it
    root = tmp_path_factory.mktemp("ddp")
    write_tickets_csv(generate_tickets(80, seed=9), root / "tickets.csv")
    prepare(root / "tickets.csv", root / "data")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "-m", "riskft_pipeline_tests.ops.ddp_probe",
           "--recipe", str(paths.configs_dir() / "tickets_tiny.yaml"), "--data", str(root / "data"),
           "--out", str(root / "run")]
    env = {**os.environ, "RISKFT_HOME": str(session_home), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(paths.repo_root())}
    proc = subprocess.run(cmd, env=env, cwd=paths.repo_root(), capture_output=True, text=True, timeout=480,
                          check=False)
    return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "out": root / "run",
            "data": root / "data"}
