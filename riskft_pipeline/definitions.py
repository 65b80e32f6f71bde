"""The Dagster code location: ``dagster dev -w workspace.yaml`` loads ``defs`` from here: one chain per task spec
(:func:`riskft_pipeline.defs.chain.build_chain`), the sensors that watch the incoming folder for every task, and the
shared resources."""

from __future__ import annotations

import dagster as dg

from riskft_pipeline.core.tasks import TASKS
from riskft_pipeline.defs.automation import incoming_files
from riskft_pipeline.defs.chain import build_chain
from riskft_pipeline.defs.enrich import enrich_incoming
from riskft_pipeline.defs.io_manager import RunScopedIOManager
from riskft_pipeline.defs.resources import MLflowTracking

defs = dg.Definitions.merge(
    *(build_chain(spec) for spec in TASKS.values()),
    dg.Definitions(
        sensors=[incoming_files, enrich_incoming],
        # values are stored per run: an overlapping run never reads another run's splits or adapter
        resources={"mlflow": MLflowTracking(), "io_manager": RunScopedIOManager()},
        executor=dg.in_process_executor,  # one process: ~15 s less per run here, and training uses every core anyway
    ),
)
