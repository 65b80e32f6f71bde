"""Fixtures for the tracking tests: a private MLflow store per test module, fake adapters, split files.

A fresh SQLite store costs seconds of schema migrations, so one migrated empty database is made per session and
copied (instantly) into each module's own RISKFT_HOME.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from safetensors.numpy import save_file

from riskft_pipeline.core.config import Recipe, recipe_hash
from riskft_pipeline.tracking.client import ENV_DEFAULTS, configure
from riskft_pipeline_tests.tracking.fakes import FAKE_IDENTITY, write_adapter_meta

TRACKING_ENV = ("RISKFT_HOME", "RISKFT_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", *ENV_DEFAULTS)


@dataclass
class Store:
    uri: str
    home: Path
    client: MlflowClient


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """An empty MLflow database with every table (tracking and registry share one schema)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("mlflow-template")
    db = folder / "mlflow.db"
    SqlAlchemyStore(f"sqlite:///{db}", (folder / "artifacts").as_uri())
    return db


def open_store(home: Path, template_db: Path, mp: pytest.MonkeyPatch) -> Store:
    """A store in ``home`` with RISKFT_HOME and the tracking env pointing at it (restored by ``mp``)."""
    db = home / "mlflow" / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db, db)
    uri = f"sqlite:///{db}"
    for var in TRACKING_ENV:
        mp.delenv(var, raising=False)
    mp.setenv("RISKFT_HOME", str(home))
    configure(uri)
    return Store(uri=uri, home=home, client=MlflowClient(tracking_uri=uri, registry_uri=uri))


@pytest.fixture(scope="module")
def store(tmp_path_factory, template_db, session_home):
    """This module's store. Its home links ``models/`` to the session's, so the base model is converted once."""
    home = tmp_path_factory.mktemp("home")
    (session_home / "models").mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(session_home / "models", target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        yield open_store(home, template_db, mp)
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


@pytest.fixture(scope="module")
def recipe() -> Recipe:
    return Recipe(name="tracking-test", eval={"batch_size": 2, "max_new_tokens": 16})


@pytest.fixture(scope="module")
def fake_adapter(tmp_path_factory, recipe) -> Path:
    """An adapter folder that registers like a real one (weights are zeros; nothing ever loads them)."""
    folder = tmp_path_factory.mktemp("fake") / "adapter"
    folder.mkdir()
    save_file({"lora_A": np.zeros((2, 4), dtype=np.float32)}, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({"r": 2}), encoding="utf-8")
    (folder / "training_args.bin").write_bytes(b"pickle that must not be logged")
    write_adapter_meta(folder, recipe, FAKE_IDENTITY)
    assert json.loads((folder / "riskft_adapter.json").read_text())["recipe_hash"] == recipe_hash(recipe)
    return folder
