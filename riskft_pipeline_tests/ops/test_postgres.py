"""Beyond one machine, configured not imitated: the Dagster instance on PostgreSQL (``RISKFT_DAGSTER_PG_URL``, written
into dagster.yaml by ``init_home``) and the MLflow registry on a ``postgresql://`` backend, against a real server.

``.ci/run`` starts PostgreSQL on loopback and sets ``RISKFT_TEST_PG_URL`` / ``RISKFT_TEST_MLFLOW_PG_URL`` (two
databases: Dagster and MLflow both have a ``runs`` table). Skipped only outside CI when none is configured.
"""

from __future__ import annotations

import os
import uuid

import dagster as dg
import pytest
import yaml

from riskft_pipeline import paths
from riskft_pipeline.home import init_home
from riskft_pipeline_tests.ops import helpers

PG_URL = os.environ.get("RISKFT_TEST_PG_URL")
MLFLOW_PG_URL = os.environ.get("RISKFT_TEST_MLFLOW_PG_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

pytestmark = pytest.mark.skipif(not (PG_URL and MLFLOW_PG_URL) and not IN_CI,
                                reason="no PostgreSQL configured (RISKFT_TEST_PG_URL, RISKFT_TEST_MLFLOW_PG_URL); "
                                       ".ci/run starts one")


def _query(url: str, sql: str, params: tuple) -> list[tuple]:
    import psycopg2

    with psycopg2.connect(url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_dagster_materialisation_on_postgres(home, monkeypatch):
    assert PG_URL, "CI must set RISKFT_TEST_PG_URL (.ci/run starts PostgreSQL)"
    monkeypatch.setenv("RISKFT_DAGSTER_PG_URL", PG_URL)
    init_home()
    config = yaml.safe_load((paths.dagster_home() / "dagster.yaml").read_text())
    assert config["storage"] == {"postgres": {"postgres_url": PG_URL}}

    from riskft_pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = defs.resolve_job_def("ticket_data").execute_in_process(instance=instance)
    assert result.success

    rows = _query(PG_URL, "SELECT status FROM runs WHERE run_id = %s", (result.run_id,))
    assert rows == [("SUCCESS",)], "the run is recorded in PostgreSQL"
    with dg.DagsterInstance.get() as again:  # a fresh instance (another process would see the same)
        record = again.get_latest_materialization_event(dg.AssetKey("ticket_splits"))
        assert record is not None and record.run_id == result.run_id


def test_mlflow_registry_on_postgres(home, tmp_path):
    assert MLFLOW_PG_URL, "CI must set RISKFT_TEST_MLFLOW_PG_URL (.ci/run starts PostgreSQL)"
    import mlflow

    from riskft_pipeline.tracking.client import get_client

    name = f"ops-pg-{uuid.uuid4().hex[:8]}"  # the database outlives the test: a name of its own
    recipe = helpers.tickets_recipe(name)
    adapter = helpers.fake_adapter(tmp_path / "adapter", recipe)
    try:
        reg = helpers.register(adapter, recipe, helpers.split_files(tmp_path / "splits"), tracking_uri=MLFLOW_PG_URL)
        assert reg["promoted"] and reg["version"] == "1"
        champion = get_client(MLFLOW_PG_URL).get_model_version_by_alias(name, "champion")
        assert str(champion.version) == "1" and champion.tags["riskft.status"] == "ready"
        assert _query(MLFLOW_PG_URL, "SELECT alias, version FROM registered_model_aliases WHERE name = %s",
                      (name,)) == [("champion", 1)]
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
