"""The Dagster code location: ``dagster dev -w workspace.yaml`` loads ``defs`` from here."""

from __future__ import annotations

import dagster as dg

from riskft_pipeline.defs import automation, enrich, risk, tickets
from riskft_pipeline.defs.io_manager import RunScopedIOManager
from riskft_pipeline.defs.resources import MLflowTracking

defs = dg.Definitions(
    assets=[*tickets.assets, *risk.assets, *enrich.assets],
    asset_checks=[*tickets.asset_checks, *risk.asset_checks],
    jobs=[*automation.jobs, *enrich.jobs],
    schedules=automation.schedules,
    sensors=[*automation.sensors, *enrich.sensors],
    # values are stored per run: an overlapping run never reads another run's splits or adapter
    resources={"mlflow": MLflowTracking(), "io_manager": RunScopedIOManager()},
    executor=dg.in_process_executor,  # one process: ~15 s less per run here, and training uses every core anyway
)
