"""Retraining on new data through Dagster (risk chain, tiny recipe, offline base): the first run trains on the
earlier changes and becomes champion; the second run gets the whole file (new changes appended → new splits), and
its model_version asset re-evaluates the champion on the new test split, decides on that comparison, and shows it
in the materialization's metadata and on the registered version."""


import pytest
from mlflow import MlflowClient

from riskft_pipeline.definitions import defs
from riskft_pipeline.defs.chain import JOBS, run_config
from riskft_pipeline.paths import embedded_data_dir
from riskft_pipeline_tests.conftest import head_csv

pytestmark = pytest.mark.slow

FIRST_CHANGES = 2000


def _version_metadata(result) -> dict:
    (mat,) = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
              if e.asset_key.path[-1] == "risk_model_version"]
    return {k: v.value for k, v in mat.metadata.items()}


def test_retraining_on_new_changes_reevaluates_the_champion_on_the_new_split(instance, tmp_path):
    job = defs.resolve_job_def(JOBS["risk"])
    first_csv = tmp_path / "first_changes.csv"
    head_csv(embedded_data_dir() / "changes.csv", first_csv, FIRST_CHANGES)

    first = job.execute_in_process(instance=instance, run_config=run_config("risk", str(first_csv), "risk_tiny.yaml"),
                                   raise_on_error=False)
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    reg1 = first.output_for_node("risk_model_version")
    assert reg1["promoted"] and reg1["comparison"] is None
    md1 = _version_metadata(first)
    assert md1["champion_reevaluated"] is False and md1["compared_on_test_sha256"] == "none"

    full = str(embedded_data_dir() / "changes.csv")
    second = job.execute_in_process(instance=instance, run_config=run_config("risk", full, "risk_tiny.yaml"),
                                    raise_on_error=False)
    assert second.success, [e.message for e in second.all_events if e.is_failure]
    reg2 = second.output_for_node("risk_model_version")
    compared = reg2["comparison"]
    assert compared["champion_version"] == "1" and compared["champion_reevaluated"] is True, reg2["reason"]
    assert compared["champion_recorded"]["value"] == reg1["primary_metric"]["value"]
    new_sha = compared["compared_on_test_sha256"]
    assert new_sha and new_sha != compared["champion_recorded"]["test_split_sha256"]
    assert isinstance(compared["champion_value"], float)

    better = reg2["primary_metric"]["value"] > compared["champion_value"]
    assert reg2["promoted"] == better, reg2["reason"]
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("change-risk", "champion").version) == ("2" if better else "1")
    tags = client.get_model_version("change-risk", reg2["version"]).tags
    assert tags["riskft.test_split.sha256"] == new_sha == tags["riskft.gate.compared_on_test_sha256"]
    assert float(tags["riskft.gate.champion_value"]) == compared["champion_value"]

    md2 = _version_metadata(second)
    assert md2["champion_reevaluated"] is True and md2["compared_on_test_sha256"] == new_sha
    assert md2["champion_metric_compared"] == compared["champion_value"]
    assert md2["decision"] == ("promoted" if better else "not promoted") and md2["reason"] == reg2["reason"]
    assert "re-evaluated on this test split" in md2["reason"]
    # the champion's evaluation on the new split sits in the run's folder of the model_version asset
    reports = list((tmp_path / "home").rglob("risk_model_version/*/champion_reevaluation/version-1/report.json"))
    assert len(reports) == 1
