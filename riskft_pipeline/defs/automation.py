"""Jobs, schedules and sensors, built per task spec (:func:`chain_job`, :func:`data_job`, :func:`nightly_schedule`;
assembled per chain by :func:`riskft_pipeline.defs.chain.build_chain`).

- ``<task>_chain`` jobs; ``<task>_data`` jobs where a spec names one (``ticket_data``).
- ``nightly_*`` schedules: off by default (turn on in the UI).
- ``incoming_files`` sensor: new ticket exports / change and incident files in the incoming folder are validated,
  appended to the history and retrain their chain (:mod:`riskft_pipeline.incoming` does the work).
- (``defs/enrich.py`` holds the enrichment jobs and their ``enrich_incoming`` sensor.)

Sensors run only where the Dagster daemon runs (``make ui``); ``make run`` is not affected.
"""

from __future__ import annotations

import functools
import os

import dagster as dg

from riskft_pipeline import incoming, paths
from riskft_pipeline.core.tasks import TASKS, TaskSpec, task_spec
from riskft_pipeline.home import TRAINING_TAG


@functools.cache
def chain_job(spec: TaskSpec):
    """``<task>_chain``: every asset of the task's group, raw file to registered model version."""
    return dg.define_asset_job(
        spec.job_name, selection=dg.AssetSelection.groups(spec.name), tags={TRAINING_TAG: spec.name},
        description=f"{spec.raw_asset} → … → {spec.model_version_asset}",
    )


@functools.cache
def data_job(spec: TaskSpec):
    """The task's data assets only (no training), when its spec names such a job."""
    return dg.define_asset_job(
        spec.data_job, selection=dg.AssetSelection.assets(spec.raw_asset, spec.clean_asset, spec.splits_asset),
        description=f"The {spec.title} data assets only (no training): quick to run from the UI.",
    )


def nightly_schedule(spec: TaskSpec) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=spec.schedule_name, job=chain_job(spec), cron_schedule=spec.nightly_cron,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Retrain the {spec.title} model nightly (off by default; turn on in the UI).",
    )


def run_config(chain: str, input_path: str | None, recipe: str | None) -> dict:
    """The chain job's run config for an input file and a recipe (the assets that read the run's recipe all get it)."""
    spec = task_spec(chain)
    ops: dict = {}
    if input_path:
        ops[spec.raw_asset] = {"config": {"input_path": input_path}}
    if recipe:
        for op in spec.recipe_assets:
            ops[op] = {"config": {"recipe": recipe}}
    return {"ops": ops} if ops else {}


def settle_seconds() -> float:
    """A file younger than this may still be being copied in; it waits for the next tick."""
    return float(os.environ.get("RISKFT_INCOMING_SETTLE_S", "10"))


# --- retraining on new data ------------------------------------------------------------------------------------


@dg.sensor(name="incoming_files", jobs=[chain_job(spec) for spec in TASKS.values()], minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="New " + " / ".join(k.pattern for spec in TASKS.values() for k in spec.incoming) +
                       " in the incoming folder "
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
        job_name=task_spec(p.chain).job_name, run_key=f"{p.chain}-{p.snapshot_sha256}",
        run_config=run_config(p.chain, p.snapshot, None),
        tags={"riskft/trigger": "incoming", "riskft/history_sha256": p.snapshot_sha256,
              "riskft/incoming_files": ", ".join(p.files)[:200]},
    )


def _observation(o: incoming.Outcome) -> dg.AssetObservation:
    """The outcome on the chain's root asset, so the asset's page shows every file that arrived and what became of
    it (a rejected file with its reason)."""
    metadata = {"file": o.file, "status": o.status, "sha256": o.sha256, "reason": o.reason or "none",
                "rows_in": o.rows_in, "rows_added": o.rows_added, "rows_updated": o.rows_updated,
                "rows_duplicate": o.rows_duplicate, "rows_quarantined": o.rows_quarantined,
                "moved_to": dg.MetadataValue.path(o.moved_to or "-")}
    return dg.AssetObservation(asset_key=task_spec(o.chain).raw_asset, metadata=metadata)

