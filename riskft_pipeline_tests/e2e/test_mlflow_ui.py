"""The MLflow UI as a person uses it: `mlflow ui` on a free loopback port over the project's SQLite store shows the
registered model with its `champion` alias (the model registered through riskft_pipeline.tracking)."""

from __future__ import annotations

import pytest

from riskft_pipeline import paths
from riskft_pipeline_tests.e2e.servers import needs_chromium, running, server_env, venv_bin, wait_http
from riskft_pipeline_tests.ops import helpers

pytestmark = [needs_chromium, pytest.mark.slow]


@pytest.mark.timeout(300)
def test_registered_model_shows_its_champion_alias(e2e_home, browser, screenshots, tmp_path):
    import mlflow
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    recipe = helpers.tickets_recipe()
    try:
        reg = helpers.register(helpers.fake_adapter(tmp_path / "adapter", recipe), recipe,
                               helpers.split_files(tmp_path / "splits"))
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    assert reg["promoted"]

    port, log = helpers.free_port(), tmp_path / "mlflow-ui.log"
    cmd = [venv_bin("mlflow"), "ui", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--backend-store-uri", paths.default_tracking_uri(), "--default-artifact-root",
           paths.default_artifact_root()]
    env = server_env(e2e_home, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # no background job workers
    with running(cmd, env=env, log=log) as server:
        wait_http(f"http://127.0.0.1:{port}/health", 120, server, log)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/#/models/{reg['model_name']}?workflowType=machine_learning")
        expect(page.get_by_role("heading", name=reg["model_name"]).first).to_be_visible()
        version_row = page.get_by_role("row").filter(has_text=f"Version {reg['version']}")
        expect(version_row.get_by_text("champion").first).to_be_visible()
        shot = tmp_path / "mlflow-registered-model.png"
        page.screenshot(path=shot)
        screenshots.append(shot)
    assert server.poll() is not None, "the server process group was stopped"
