"""The Dagster code location: ``dagster dev -w workspace.yaml`` loads ``defs`` from here."""

from __future__ import annotations

import dagster as dg

from riskft_pipeline.defs import automation, risk, tickets
from riskft_pipeline.defs.resources import MLflowTracking

defs = dg.Definitions(
    assets=[*tickets.assets, *risk.assets],
    asset_checks=[*tickets.asset_checks, *risk.asset_checks],
    jobs=automation.jobs,
    schedules=automation.schedules,
    sensors=automation.sensors,
    resources={"mlflow": MLflowTracking()},
    executor=dg.in_process_executor,  # one process: ~15 s less per run here, and training uses every core anyway
)
