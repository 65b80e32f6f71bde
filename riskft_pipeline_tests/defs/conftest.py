"""A Dagster test instance with its own home and MLflow database, for the chain tests."""

import dagster as dg
import pytest


@pytest.fixture()
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RISKFT_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with dg.instance_for_test() as inst:
        yield inst
