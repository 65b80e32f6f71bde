"""The ticket data assets materialised in-process through Dagster on the embedded data: checks pass, metadata is
there, outputs land in run-scoped folders, and a broken input fails with a clear message."""

import json
from pathlib import Path

import dagster as dg
import pytest

from riskft_pipeline.defs import tickets
from riskft_pipeline.defs.resources import MLflowTracking

DATA_ASSETS = [tickets.raw_tickets, tickets.clean_tickets, tickets.ticket_splits]
DATA_CHECKS = [tickets.clean_tickets_schema, tickets.clean_tickets_nothing_lost, tickets.ticket_splits_no_leakage,
               tickets.ticket_splits_no_pii]


@pytest.fixture()
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    with dg.instance_for_test() as inst:
        yield inst


def _materialize(instance, run_config=None):
    return dg.materialize([*DATA_ASSETS, *DATA_CHECKS], instance=instance, run_config=run_config or {},
                          resources={"mlflow": MLflowTracking()}, raise_on_error=False)


def test_data_assets_on_embedded_defaults(instance):
    result = _materialize(instance)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {"clean_tickets_schema", "clean_tickets_nothing_lost",
                                              "ticket_splits_no_leakage", "ticket_splits_no_pii"}
    assert all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks if not c.passed]

    clean = result.output_for_node("clean_tickets")
    s = clean.summary
    assert s["raw_rows"] == s["clean_rows"] + s["quarantined_rows"]
    assert s["quarantined_rows"] > 0, "the embedded data carries malformed rows on purpose"

    splits = result.output_for_node("ticket_splits")
    data_dir = Path(splits.data_dir)
    assert result.run_id in str(data_dir), "outputs are scoped by run"
    for name in ("train", "val", "test"):
        assert (data_dir / f"{name}.jsonl").stat().st_size > 0
    summary = json.loads((data_dir / "summary.json").read_text())
    assert sum(summary["splits"].values()) == s["clean_rows"]

    mats = {m.asset_key.path[-1]: m for m in result.get_asset_materialization_events()}
    clean_md = mats["clean_tickets"].materialization.metadata
    assert clean_md["raw_rows"].value == s["raw_rows"]
    assert "| reason | rows |" in clean_md["quarantine_reasons"].value
    assert mats["ticket_splits"].materialization.metadata["train_rows"].value == summary["splits"]["train"]
    assert mats["raw_tickets"].materialization.tags.get("dagster/data_version") == \
        result.output_for_node("raw_tickets").sha256


def test_missing_input_fails_with_clear_message(instance, tmp_path):
    missing = tmp_path / "nope.csv"
    result = _materialize(instance, {"ops": {"raw_tickets": {"config": {"input_path": str(missing)}}}})
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert failure.event_specific_data.user_failure_data.description == f"ticket file not found: {missing}"
