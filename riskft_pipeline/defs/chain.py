"""One factory for every chain: :func:`build_chain` turns a :class:`~riskft_pipeline.core.tasks.TaskSpec` into the
chain's ``dg.Definitions``: its data assets and checks (the spec's ``data_assets``: ``defs/tickets.py``,
``defs/risk.py``), the model half (:func:`riskft_pipeline.defs.training.model_assets`), the enrichment asset, the
chain job (+ the data-only job where the spec names one), the nightly schedule, and, for a spec whose history a git
repository can feed (``mined_kind``), the ``<task>_watch_repo`` sensor and ``<task>_mine_repo`` job
(``defs/watch.py``).

The two sensors (``incoming_files``, ``enrich_incoming``) watch one folder each for every task, so they are built once
over all specs (``defs/automation.py``, ``defs/enrich.py``) and added by :mod:`riskft_pipeline.definitions`.
"""

from __future__ import annotations

import dagster as dg

from riskft_pipeline.core.tasks import TASKS, TaskSpec
from riskft_pipeline.defs.automation import chain_job, data_job, nightly_schedule, run_config
from riskft_pipeline.defs.common import DataAssets
from riskft_pipeline.defs.enrich import enrich_asset, enrich_job
from riskft_pipeline.defs.training import model_assets
from riskft_pipeline.defs.watch import mine_job, watch_sensor

#: chain name → job name (what scripts resolve with ``defs.resolve_job_def``)
JOBS = {spec.name: spec.job_name for spec in TASKS.values()}


def build_chain(spec: TaskSpec) -> dg.Definitions:
    data: DataAssets = spec.data_assets.load()
    jobs = [chain_job(spec), enrich_job(spec)] + ([data_job(spec)] if spec.data_job else [])
    jobs += [mine_job(spec)] if spec.mined_kind else []
    return dg.Definitions(
        assets=[*data.assets, *model_assets(spec, split_params=data.split_params), enrich_asset(spec)],
        asset_checks=list(data.checks),
        jobs=jobs,
        schedules=[nightly_schedule(spec)],
        sensors=[watch_sensor(spec)] if spec.mined_kind else [],
    )


__all__ = ["JOBS", "build_chain", "run_config"]
