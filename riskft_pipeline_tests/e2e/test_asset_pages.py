"""What `make run` leaves for a person to open: the ticket chain materialised (tiny recipe) into the instance, then
`dagster dev` and the MLflow UI (started as `make mlflow-ui` starts it) on loopback ports. In headless Chromium the
evaluation report's plots and the loss curve render as images on the asset pages, the predictions sample is a table,
the MLflow links are there, and following the run link opens the run in MLflow's training-runs view (not the GenAI
traces view). Screenshots kept."""

from __future__ import annotations

import pytest

from riskft_pipeline import paths
from riskft_pipeline.home import init_home
from riskft_pipeline_tests.e2e.servers import (
    mlflow_ui_cmd,
    needs_chromium,
    running,
    server_env,
    skip_welcome,
    venv_bin,
    wait_http,
)
from riskft_pipeline_tests.ops.helpers import free_port

pytestmark = [needs_chromium, pytest.mark.slow]
UI_TIMEOUT_MS = 90_000


@pytest.mark.timeout(900)
def test_asset_pages_show_plots_tables_and_links(e2e_home, session_home, browser, screenshots, tmp_path,
                                                 monkeypatch):
    import dagster as dg
    from playwright.sync_api import expect

    from riskft_pipeline.definitions import defs
    from riskft_pipeline.defs.chain import run_config

    expect.set_options(timeout=UI_TIMEOUT_MS)
    (session_home / "models").mkdir(parents=True, exist_ok=True)
    e2e_home.mkdir(parents=True)
    (e2e_home / "models").symlink_to(session_home / "models", target_is_directory=True)  # converted once
    init_home()
    mlflow_port, dagster_port = free_port(), free_port()
    monkeypatch.setenv("RISKFT_MLFLOW_UI_URL", f"http://127.0.0.1:{mlflow_port}")  # the links point at this UI
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("tickets_chain").execute_in_process(
            instance=instance, run_config=run_config("tickets", None, "tickets_tiny.yaml"), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    shots = tmp_path / "screenshots"
    shots.mkdir()

    dagster_log, mlflow_log = tmp_path / "dagster-dev.log", tmp_path / "mlflow-ui.log"
    dagster_cmd = [venv_bin("dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(dagster_port)]
    with running(dagster_cmd, env=server_env(e2e_home), log=dagster_log) as dagster_server, \
            running(mlflow_ui_cmd(mlflow_port), log=mlflow_log,
                    env=server_env(e2e_home, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")) as mlflow_server:
        base = f"http://127.0.0.1:{dagster_port}"
        wait_http(f"{base}/server_info", 180, dagster_server, dagster_log)
        wait_http(f"http://127.0.0.1:{mlflow_port}/health", 120, mlflow_server, mlflow_log)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.set_default_timeout(UI_TIMEOUT_MS)
        skip_welcome(page, base)

        page.goto(f"{base}/assets/ticket_eval_report")
        expect(page.get_by_text("predictions_sample").first).to_be_visible()
        table = page.get_by_role("row").filter(has_text="predictions_sample").get_by_role("table").first
        expect(table.get_by_role("columnheader", name="predicted.category")).to_be_visible()
        _show_markdown(page, "plot_field_accuracy", shots / "dagster-eval-report-plot.png")
        _show_markdown(page, "report", shots / "dagster-eval-report-markdown.png", at_least=2)
        run_link = page.locator(f"a[href^='http://127.0.0.1:{mlflow_port}/#/experiments/']").first
        expect(run_link).to_be_visible()
        href = run_link.get_attribute("href")
        assert "/runs/" in href and "workflowType=machine_learning" in href
        page.screenshot(path=shots / "dagster-eval-report.png", full_page=True)

        page.goto(f"{base}/assets/ticket_adapter")
        _show_markdown(page, "loss_curve", shots / "dagster-adapter-loss-curve.png")

        page.goto(f"{base}/assets/ticket_model_version")
        version_link = page.locator(f"a[href='http://127.0.0.1:{mlflow_port}/#/models/ticket-extractor/versions/1"
                                    "?workflowType=machine_learning']")
        expect(version_link.first).to_be_visible()
        page.screenshot(path=shots / "dagster-model-version.png", full_page=True)

        page.goto(href)  # the link as a person follows it
        run_id = href.split("/runs/")[1].split("?")[0]
        expect(page.get_by_text(run_id).first).to_be_visible()
        expect(page.get_by_text("train/loss").first).to_be_visible()  # the training run's own metrics
        page.screenshot(path=shots / "mlflow-run.png", full_page=True)

        page.goto(href.split("/runs/")[0] + "/runs?workflowType=machine_learning")  # the experiment: its runs
        expect(page.get_by_text(mlflow_run_name(run_id)).first).to_be_visible()
        expect(page.get_by_text("Model training").first).to_be_visible()  # the training view, not GenAI traces
        page.screenshot(path=shots / "mlflow-experiment-runs.png", full_page=True)

        page.goto(f"http://127.0.0.1:{mlflow_port}/#/models/ticket-extractor/versions/1?workflowType=machine_learning")
        expect(page.get_by_text("ticket-extractor version 1: promoted to @champion.").first).to_be_visible()
        page.screenshot(path=shots / "mlflow-model-version.png", full_page=True)
        screenshots.extend(sorted(shots.glob("*.png")))


def mlflow_run_name(run_id: str) -> str:
    from mlflow import MlflowClient

    uri = paths.default_tracking_uri()
    return MlflowClient(uri, uri).get_run(run_id).info.run_name


def _show_markdown(page, key: str, shot, at_least: int = 1) -> None:
    """Open a markdown metadata entry as a person does ("[Show Markdown]" in its row) and check its images render
    (an image that failed to load has no natural width)."""
    from playwright.sync_api import expect

    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=key, exact=True)).first
    row.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("img[src^='data:image/png']").first).to_be_visible()
    widths = dialog.locator("img[src^='data:image/png']").evaluate_all(
        "els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert len(widths) >= at_least and all(w > 0 for w in widths), f"{key}: broken images {widths}"
    page.wait_for_timeout(600)  # the dialog's fade-in, for a legible screenshot
    page.screenshot(path=shot)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
