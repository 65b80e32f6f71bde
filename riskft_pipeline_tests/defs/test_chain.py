"""The chain factory: each task spec gives its chain's assets, checks, jobs and schedule under the stable names, and
the code location is their merge plus the two folder sensors (and the watched-repository sensor of a spec with a
``mined_kind``)."""

from __future__ import annotations

import pytest

from riskft_pipeline.core.tasks import TASKS
from riskft_pipeline.defs.chain import JOBS, build_chain, run_config
from riskft_pipeline.defs.common import DataAssets


@pytest.mark.parametrize("spec", TASKS.values(), ids=list(TASKS))
def test_build_chain_gives_the_chain_under_its_specs_names(spec):
    assert isinstance(spec.data_assets.load(), DataAssets)
    chain = build_chain(spec)
    keys = {k.to_user_string() for a in chain.assets for k in a.keys}
    assert keys == {spec.raw_asset, spec.clean_asset, spec.splits_asset, spec.adapter_asset, spec.eval_report_asset,
                    spec.model_version_asset, spec.enriched_asset}
    jobs = {j.name for j in chain.jobs}
    assert jobs == ({spec.job_name, spec.enrich_job} | ({spec.data_job} if spec.data_job else set())
                    | ({spec.mine_job} if spec.mined_kind else set()))
    assert [s.name for s in chain.schedules] == [spec.schedule_name]
    assert [s.name for s in chain.sensors] == ([spec.watch_sensor] if spec.mined_kind else [])
    assert build_chain(spec).jobs[0] is chain.jobs[0], "one job object per chain: the sensors target the same one"


def test_the_code_location_merges_every_chain_and_the_folder_sensors():
    from riskft_pipeline.definitions import defs

    assert {j: defs.resolve_job_def(j).name for j in JOBS.values()} == {"tickets_chain": "tickets_chain",
                                                                         "risk_chain": "risk_chain"}
    sensors = {s.name: sorted(t.job_name for t in s.targets) for s in defs.get_repository_def().sensor_defs}
    assert sensors["incoming_files"] == sorted(s.job_name for s in TASKS.values())
    assert sensors["enrich_incoming"] == sorted(s.enrich_job for s in TASKS.values())
    watched = [s for s in TASKS.values() if s.mined_kind]
    assert watched and all(sensors[s.watch_sensor] == [s.mine_job] for s in watched), (
        "a watched repository is mined by its own job; incoming_files then retrains the chain")


def test_run_config_sets_the_input_on_the_root_asset():
    assert run_config("tickets", "t.csv", None) == {"ops": {"raw_tickets": {"config": {"input_path": "t.csv"}}}}
    assert run_config("risk", None, None) == {}
