"""Jobs, schedules and sensors.

- ``nightly_*`` schedules: off by default (turn on in the UI).
- ``incoming_files`` sensor: new ticket exports / change and incident files in the incoming folder are validated,
  appended to the history and retrain their chain (:mod:`riskft_pipeline.incoming` does the work).
- (``defs/enrich.py`` holds the enrichment jobs and their ``enrich_incoming`` sensor.)

Sensors run only where the Dagster daemon runs (``make ui``); ``make run`` is not affected.
"""

from __future__ import annotations

import os

import dagster as dg

from riskft_pipeline import incoming, paths
from riskft_pipeline.defs.runner import JOBS, ROOT_ASSET, run_config
from riskft_pipeline.home import TRAINING_TAG

tickets_chain = dg.define_asset_job(
    "tickets_chain", selection=dg.AssetSelection.groups("tickets"), tags={TRAINING_TAG: "tickets"},
    description="raw_tickets → … → ticket_model_version",
)
risk_chain = dg.define_asset_job(
    "risk_chain", selection=dg.AssetSelection.groups("risk"), tags={TRAINING_TAG: "risk"},
    description="raw_changes → … → risk_model_version",
)
ticket_data = dg.define_asset_job(
    "ticket_data", selection=dg.AssetSelection.assets("raw_tickets", "clean_tickets", "ticket_splits"),
    description="The ticket data assets only (no training): quick to run from the UI.",
)
nightly_tickets = dg.ScheduleDefinition(
    name="nightly_tickets", job=tickets_chain, cron_schedule="0 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Retrain the ticket model nightly (off by default; turn on in the UI).",
)
nightly_risk = dg.ScheduleDefinition(
    name="nightly_risk", job=risk_chain, cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Retrain the change-risk model nightly (off by default; turn on in the UI).",
)


def settle_seconds() -> float:
    """A file younger than this may still be being copied in; it waits for the next tick."""
    return float(os.environ.get("RISKFT_INCOMING_SETTLE_S", "10"))


# --- retraining on new data ------------------------------------------------------------------------------------


@dg.sensor(name="incoming_files", jobs=[tickets_chain, risk_chain], minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="New tickets*.csv / changes*.csv / incidents*.csv in the incoming folder "
                       "($RISKFT_INCOMING, default .riskft/incoming/): validated, appended to the history without "
                       "duplicates, then the chain retrains on the history (champion gate at registration). Seen "
                       "content triggers nothing; broken files go to incoming/rejected/ with a reason.")
def incoming_files(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    outcomes = incoming.ingest_folder(paths.incoming_dir(), min_age_s=settle_seconds())
    for o in outcomes:
        (context.log.warning if o.status == "rejected" else context.log.info)(incoming.summarise([o]))
    after = int(context.cursor or 0)
    requests = [_retrain_request(p) for p in incoming.pending_runs(after)]
    events = [_observation(o) for o in outcomes if o.status != "seen"]
    cursor = str(max(after, incoming.last_seq()))
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor, asset_events=events)
    reason = incoming.summarise(outcomes) or f"no new files in {paths.incoming_dir()}"
    return dg.SensorResult(skip_reason=reason, cursor=cursor, asset_events=events)


def _retrain_request(p: incoming.PendingRun) -> dg.RunRequest:
    """One run per chain per tick, on the newest snapshot (it holds every file of the tick). The run key is the
    snapshot's content hash: the same history never trains twice."""
    return dg.RunRequest(
        job_name=JOBS[p.chain], run_key=f"{p.chain}-{p.snapshot_sha256}", run_config=run_config(p.chain, p.snapshot,
                                                                                                 None),
        tags={"riskft/trigger": "incoming", "riskft/history_sha256": p.snapshot_sha256,
              "riskft/incoming_files": ", ".join(p.files)[:200]},
    )


def _observation(o: incoming.Outcome) -> dg.AssetObservation:
    """The outcome on the chain's root asset, so the asset's page shows every file that arrived and what became of
    it (a rejected file with its reason)."""
    metadata = {"file": o.file, "status": o.status, "sha256": o.sha256, "reason": o.reason or "none",
                "rows_in": o.rows_in, "rows_added": o.rows_added, "rows_duplicate": o.rows_duplicate,
                "rows_quarantined": o.rows_quarantined, "moved_to": dg.MetadataValue.path(o.moved_to or "-")}
    return dg.AssetObservation(asset_key=ROOT_ASSET[o.chain], metadata=metadata)


jobs = [tickets_chain, risk_chain, ticket_data]
schedules = [nightly_tickets, nightly_risk]
sensors = [incoming_files]
