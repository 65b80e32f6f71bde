"""The MLflow UI as a person uses it: the server started as `make mlflow-ui` starts it (``mlflow server --app-name
riskft-ui`` on a free loopback port) over the project's SQLite store. Its bare address opens experiments on the
runs view, a switch to GenAI made in the sidebar is kept, and the registered model shows its `champion` alias (the
model registered through riskft_pipeline.tracking)."""

from __future__ import annotations

import contextlib

import pytest

from riskft_pipeline_tests.e2e.servers import mlflow_ui_cmd, needs_chromium, running, server_env, wait_http
from riskft_pipeline_tests.ops import helpers

pytestmark = [needs_chromium, pytest.mark.slow]
STORED_VIEW = "localStorage.getItem('mlflow.workflowType_v1')"


@contextlib.contextmanager
def ui_over_a_registered_model(home, tmp_path):
    """(base address, registration) of the UI over a store holding one registered, promoted model version."""
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
    env = server_env(home, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # no background job workers
    with running(mlflow_ui_cmd(port), env=env, log=log) as server:
        wait_http(f"http://127.0.0.1:{port}/health", 120, server, log)
        yield f"http://127.0.0.1:{port}", reg
    assert server.poll() is not None, "the server process group was stopped"


@pytest.mark.timeout(300)
def test_bare_address_opens_the_runs_view_and_keeps_a_switch_to_genai(e2e_home, browser, screenshots, tmp_path):
    from playwright.sync_api import expect

    with ui_over_a_registered_model(e2e_home, tmp_path) as (base, reg):
        page = browser.new_page(viewport={"width": 1600, "height": 1000})  # a fresh browser profile
        page.goto(f"{base}/")
        page.get_by_role("link", name=f"{reg['model_name']}-ops-test").first.click()  # from the experiment list
        expect(page.get_by_role("link", name="Model registry")).to_be_visible()  # only the runs view lists it
        expect(page.get_by_role("link", name="Runs", exact=True)).to_be_visible()
        expect(page.get_by_text("Overview", exact=True)).to_have_count(0)  # the GenAI view's first entry
        expect(page.get_by_text("train", exact=True).first).to_be_visible()  # the training run
        assert page.evaluate(STORED_VIEW) == '"machine_learning"'
        shot = tmp_path / "mlflow-runs-view-from-bare-address.png"
        page.screenshot(path=shot)
        screenshots.append(shot)

        page.get_by_text("GenAI", exact=True).first.click()  # the user's own choice, in the sidebar
        page.wait_for_function(f"{STORED_VIEW} === '\"genai\"'")
        page.goto(f"{base}/")
        page.reload()  # a full load of the page, so its script runs again
        page.get_by_role("link", name=f"{reg['model_name']}-ops-test").first.click()
        expect(page.get_by_text("Overview", exact=True).first).to_be_visible()
        assert page.evaluate(STORED_VIEW) == '"genai"', "the page's script overwrote the user's choice"
        shot = tmp_path / "mlflow-genai-view-kept.png"
        page.screenshot(path=shot)
        screenshots.append(shot)


@pytest.mark.timeout(300)
def test_registered_model_shows_its_champion_alias(e2e_home, browser, screenshots, tmp_path):
    from playwright.sync_api import expect

    with ui_over_a_registered_model(e2e_home, tmp_path) as (base, reg):
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{base}/#/models/{reg['model_name']}?workflowType=machine_learning")
        expect(page.get_by_role("heading", name=reg["model_name"]).first).to_be_visible()
        version_row = page.get_by_role("row").filter(has_text=f"Version {reg['version']}")
        expect(version_row.get_by_text("champion").first).to_be_visible()
        shot = tmp_path / "mlflow-registered-model.png"
        page.screenshot(path=shot)
        screenshots.append(shot)
