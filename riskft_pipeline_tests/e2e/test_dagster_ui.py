"""The Dagster UI as a person uses it: `dagster dev -w workspace.yaml` on a free loopback port (what `make ui` runs),
headless Chromium finds both chains' assets by name, the sensors and schedules, launches the ticket data assets from
the `ticket_data` job page, watches the run succeed, sees the metadata rendered, and saves screenshots."""

from __future__ import annotations

import re

import dagster as dg
import pytest

from riskft_pipeline.home import init_home
from riskft_pipeline_tests.e2e.servers import (
    needs_chromium,
    running,
    server_env,
    skip_welcome,
    venv_bin,
    wait_http,
)
from riskft_pipeline_tests.ops.helpers import free_port

pytestmark = [needs_chromium, pytest.mark.slow]

ASSETS = ("raw_tickets", "clean_tickets", "ticket_splits", "ticket_adapter", "ticket_eval_report",
          "ticket_model_version", "raw_changes", "change_features", "risk_splits", "risk_model_version")
UI_TIMEOUT_MS = 90_000


@pytest.mark.timeout(420)
def test_materialise_the_ticket_data_from_the_ui(e2e_home, browser, screenshots, tmp_path):
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    init_home()
    port, log = free_port(), tmp_path / "dagster-dev.log"
    base = f"http://127.0.0.1:{port}"
    cmd = [venv_bin("dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with running(cmd, env=server_env(e2e_home), log=log) as server:
        wait_http(f"{base}/server_info", 120, server, log)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(UI_TIMEOUT_MS)
        skip_welcome(page, base)

        page.goto(f"{base}/assets")
        for name in ASSETS:  # the catalog lists both chains, by name
            expect(page.locator(f'a[href="/assets/{name}"]').filter(has_text=name).first).to_be_visible()

        page.goto(f"{base}/automation")
        for name in ("incoming_files", "nightly_tickets", "nightly_risk"):
            expect(page.get_by_text(name, exact=True).first).to_be_visible()

        page.goto(f"{base}/locations/riskft_pipeline/jobs/ticket_data")
        expect(page.get_by_text("raw_tickets", exact=True).first).to_be_visible()
        page.get_by_role("button", name="Materialize all").click()
        toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
        expect(toast).to_be_visible()
        short_id = re.search(r"[0-9a-f]{8}", toast.inner_text()).group(0)
        page.get_by_role("link", name="View").first.click()
        expect(page).to_have_url(re.compile(rf"/runs/{short_id}"))
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=240_000)
        shots = tmp_path / "screenshots"
        shots.mkdir()
        page.screenshot(path=shots / "dagster-run-success.png")

        page.set_viewport_size({"width": 2400, "height": 1000})  # the whole 3-asset graph beside the info panel
        page.goto(f"{base}/locations/riskft_pipeline/jobs/ticket_data")
        expect(page.get_by_text("Materialized").first).to_be_visible()
        page.screenshot(path=shots / "dagster-ticket-data-graph.png")

        page.set_viewport_size({"width": 1600, "height": 1000})
        page.goto(f"{base}/assets/clean_tickets")  # markdown metadata renders as a table
        table = page.locator("table").filter(has_text="missing text").first
        expect(table).to_be_visible()
        page.screenshot(path=shots / "dagster-clean-tickets-metadata.png", full_page=True)
        screenshots.extend(sorted(shots.glob("*.png")))

    with dg.DagsterInstance.get() as instance:
        [run] = [r for r in instance.get_runs() if r.run_id.startswith(short_id)]
        assert run.job_name == "ticket_data" and run.status == dg.DagsterRunStatus.SUCCESS
        record = instance.get_latest_materialization_event(dg.AssetKey("ticket_splits"))
        assert record is not None and record.run_id == run.run_id
    assert server.poll() is not None, "the server process group was stopped"
