"""The sensors as the daemon calls them (``build_sensor_context`` on a test instance): a new export requests its chain
on the history snapshot, seen content requests nothing, a broken file is reported and moved aside, a tick that died
after ingesting is made good by the next, and new files to enrich each get one run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from riskft_pipeline import incoming, paths
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.core.tasks import TICKETS
from riskft_pipeline.defs import automation
from riskft_pipeline.defs import enrich as enrich_defs
from riskft_pipeline.defs.resources import MLflowTracking
from riskft_pipeline_tests.ops.helpers import tick


def test_new_export_requests_the_chain_on_the_history_snapshot(home, instance, small_tickets):
    inbox = paths.incoming_dir()
    inbox.mkdir(parents=True)
    (inbox / "tickets_june.csv").write_bytes(small_tickets.read_bytes())
    data = tick(automation.incoming_files, instance)

    [request] = data.run_requests
    snapshot = request.run_config["ops"]["raw_tickets"]["config"]["input_path"]
    assert request.job_name == "tickets_chain"
    assert request.run_key == f"tickets-{sha256_file(snapshot)}"
    assert request.tags["riskft/incoming_files"] == "tickets_june.csv"
    assert Path(snapshot).parent == incoming.history_dir() / "snapshots"
    [obs] = data.asset_events
    assert obs.asset_key == dg.AssetKey("raw_tickets") and obs.metadata["status"].value == "accepted"

    again = tick(automation.incoming_files, instance, data.cursor)
    assert not again.run_requests and "no new files" in again.skip_message
    (inbox / "tickets_copy.csv").write_bytes(small_tickets.read_bytes())
    seen = tick(automation.incoming_files, instance, again.cursor)
    assert not seen.run_requests and "same content as tickets_june.csv" in seen.skip_message


def test_the_requested_run_config_materialises_the_snapshot(home, instance, small_tickets):
    """The request's config is valid for the chain, and the ticket data assets run on the snapshot (no training)."""
    from riskft_pipeline.defs import tickets

    inbox = paths.incoming_dir()
    inbox.mkdir(parents=True)
    (inbox / "tickets_june.csv").write_bytes(small_tickets.read_bytes())
    [request] = tick(automation.incoming_files, instance).run_requests
    data_assets = [tickets.raw_tickets, tickets.clean_tickets, tickets.ticket_splits]
    result = dg.materialize(data_assets, instance=instance, run_config=request.run_config,
                            resources={"mlflow": MLflowTracking()}, tags=request.tags)
    assert result.success
    raw = result.output_for_node("raw_tickets")
    assert raw.sha256 == request.tags["riskft/history_sha256"]
    assert result.output_for_node("ticket_splits").summary["input_sha256"] == raw.sha256


def test_broken_file_is_reported_and_moved_aside(home, instance):
    inbox = paths.incoming_dir()
    inbox.mkdir(parents=True)
    (inbox / "changes_broken.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
    data = tick(automation.incoming_files, instance)
    assert not data.run_requests
    assert "changes_broken.csv: rejected" in data.skip_message and "missing required column" in data.skip_message
    [obs] = data.asset_events
    assert obs.asset_key == dg.AssetKey("raw_changes") and obs.metadata["status"].value == "rejected"
    assert (inbox / "rejected" / "changes_broken.csv").is_file()
    assert (inbox / "rejected" / "changes_broken.csv.reason.txt").is_file()


def test_a_tick_that_died_after_ingesting_is_made_good(home, instance):
    """Ingest happened (registry written) but no run was requested: the next tick, from the old cursor, asks."""
    inbox = paths.incoming_dir()
    inbox.mkdir(parents=True)
    pd.read_csv(paths.embedded_data_dir() / "changes.csv", dtype=str).iloc[:80].to_csv(inbox / "changes_x.csv",
                                                                                       index=False)
    [outcome] = incoming.ingest_folder(inbox)  # as if the sensor crashed right after this
    data = tick(automation.incoming_files, instance, cursor="0")
    [request] = data.run_requests
    assert request.job_name == "risk_chain" and request.run_key == f"risk-{outcome.snapshot_sha256}"
    assert request.run_config["ops"]["raw_changes"]["config"]["input_path"] == outcome.snapshot
    assert data.cursor == str(outcome.seq)


def test_enrich_sensor_requests_one_run_per_new_content(home, instance, small_tickets):
    folder = paths.incoming_dir() / "enrich"
    folder.mkdir(parents=True)
    (folder / "tickets_new.csv").write_bytes(small_tickets.read_bytes())
    (folder / "incidents_ignored.csv").write_text("number,caused_by_change\n", encoding="utf-8")
    data = tick(enrich_defs.enrich_incoming, instance)
    [request] = data.run_requests
    config = request.run_config["ops"]["enriched_tickets"]["config"]
    assert request.job_name == "enrich_tickets"
    assert config == {"input_path": str(folder / "tickets_new.csv"), "sha256": sha256_file(small_tickets)}

    assert not tick(enrich_defs.enrich_incoming, instance, data.cursor).run_requests
    (folder / "tickets_same.csv").write_bytes(small_tickets.read_bytes())
    assert not tick(enrich_defs.enrich_incoming, instance, data.cursor).run_requests, "same content, other name"


def test_enrich_asset_refuses_a_file_changed_since_the_sensor_saw_it(home, instance, small_tickets, tmp_path):
    path = tmp_path / "tickets_new.csv"
    path.write_bytes(small_tickets.read_bytes())
    config = {"input_path": str(path), "sha256": "0" * 64}
    result = dg.materialize([enrich_defs.enrich_asset(TICKETS)], instance=instance, raise_on_error=False,
                            run_config={"ops": {"enriched_tickets": {"config": config}}},
                            resources={"mlflow": MLflowTracking()})
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.user_failure_data
    assert "changed since the sensor saw it" in failure.description
