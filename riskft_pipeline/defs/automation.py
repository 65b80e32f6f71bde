"""Jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

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

jobs = [tickets_chain, risk_chain, ticket_data]
schedules = [nightly_tickets, nightly_risk]
sensors: list = []
