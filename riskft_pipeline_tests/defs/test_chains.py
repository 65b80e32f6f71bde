"""Both chains end to end through Dagster, in-process, with the tiny recipes on the embedded data: every asset
materialises, every check passes, a model version is registered and becomes champion, and a second run with the same
data is registered but judged on the same split (not promoted unless strictly better)."""

import pytest

from riskft_pipeline.definitions import defs
from riskft_pipeline.defs.chain import JOBS, run_config

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("chain, prefix", [("tickets", "ticket"), ("risk", "risk")])
def test_chain_materialises_and_registers(instance, chain, prefix):
    job = defs.resolve_job_def(JOBS[chain])
    config = run_config(chain, None, f"{chain}_tiny.yaml")
    first = job.execute_in_process(instance=instance, run_config=config, raise_on_error=False)
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    checks = first.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks if not c.passed]
    assert f"{prefix}_eval_report" in {c.asset_key.path[-1] for c in checks}

    reg = first.output_for_node(f"{prefix}_model_version")
    assert reg["version"] == "1" and reg["promoted"], reg
    mats = {m.asset_key.path[-1] for m in first.get_asset_materialization_events()}
    assert {f"{prefix}_adapter", f"{prefix}_eval_report", f"{prefix}_model_version"} <= mats

    second = job.execute_in_process(instance=instance, run_config=config, raise_on_error=False)
    assert second.success
    reg2 = second.output_for_node(f"{prefix}_model_version")
    assert reg2["version"] == "2"
    assert reg2["previous_champion"]["version"] == "1"
    better = reg2["primary_metric"]["value"] > reg["primary_metric"]["value"]
    assert reg2["promoted"] == better, reg2["reason"]
    # same data, same split: the recorded metrics are compared, the champion is not re-evaluated
    assert reg2["comparison"]["champion_reevaluated"] is False and reg2["comparison"]["compared_on_test_sha256"]
    assert "on the same test split" in reg2["reason"]
