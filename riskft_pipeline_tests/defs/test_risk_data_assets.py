"""The first change-risk assets through Dagster on a hostile file: a non-numeric label, a ragged line and Latin-1
bytes are counted and quarantined, never a crash, and the encoding shows in the metadata."""

from pathlib import Path

import dagster as dg
import pandas as pd
import yaml

from riskft_pipeline import paths
from riskft_pipeline.core.tasks import RISK
from riskft_pipeline.defs import risk
from riskft_pipeline.defs.chain import run_config
from riskft_pipeline.defs.resources import MLflowTracking
from riskft_pipeline.defs.training import model_assets


def test_raw_changes_and_features_survive_bad_labels_ragged_lines_and_latin1(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKFT_HOME", str(tmp_path / "home"))
    lines = (paths.embedded_data_dir() / "changes.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:201]
    cols = header.split(",")
    bad_label = rows[5].split(",")
    bad_label[cols.index("bug")] = "yes"
    rows[5] = ",".join(bad_label)
    rows[6] = rows[6] + ",one,too,many"
    data = ("\n".join([header, *rows]) + "\n").encode("utf-8")
    first_row = data.index(b"\n") + 1  # one Latin-1 byte in a text cell (ids and messages hold letters, numbers don't)
    path = tmp_path / "changes.csv"
    path.write_bytes(data[:first_row] + data[first_row:].replace(b"a", b"\xe9", 1))
    with dg.instance_for_test() as instance:
        result = dg.materialize([risk.raw_changes, risk.change_features], instance=instance,
                                run_config={"ops": {"raw_changes": {"config": {"input_path": str(path)}}}},
                                resources={"mlflow": MLflowTracking()}, raise_on_error=False)
    assert result.success
    mats = {m.asset_key.path[-1]: m.materialization.metadata for m in result.get_asset_materialization_events()}
    raw = mats["raw_changes"]
    assert raw["rows"].value == 200 and raw["unreadable_labels"].value >= 1
    assert raw["encoding"].value in ("latin-1", "iso-8859-1", "cp1252")
    s = result.output_for_node("change_features").summary
    assert s["raw_rows"] == 200 == s["clean_rows"] + s["quarantined_rows"]
    assert s["quarantined_rows"] >= 2


DATA_ASSETS = [risk.raw_changes, risk.change_features, risk.risk_splits]


def _recipe(tmp_path, name, **train):
    """configs/risk_cpu.yaml with other training-sample settings."""
    data = yaml.safe_load((paths.configs_dir() / "risk_cpu.yaml").read_text(encoding="utf-8"))
    data["train"].update(train)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_risk_splits_follow_the_runs_recipe_and_read_the_clean_table(tmp_path, instance):
    recipe = _recipe(tmp_path, "risk_small.yaml", max_train_examples=10, seed=3)
    config = {"ops": {"risk_splits": {"config": {"recipe": str(recipe)}}}}
    result = dg.materialize(DATA_ASSETS, instance=instance, resources={"mlflow": MLflowTracking()}, run_config=config)
    assert result.success
    splits = result.output_for_node("risk_splits")
    s = splits.summary
    assert s["examples"]["train"] == 10 and s["params"]["max_train_examples"] == 10 and s["params"]["seed"] == 3
    assert splits.recipe_path == str(recipe)
    assert len((Path(splits.data_dir) / "train.jsonl").read_text(encoding="utf-8").splitlines()) == 10
    # built from change_features' clean table: the same rows, and the same counts as the cleaning step
    clean_dir = Path(result.output_for_node("change_features").dir)
    clean = pd.read_parquet(clean_dir / "clean.parquet")
    split_clean = pd.read_parquet(Path(splits.data_dir) / "clean.parquet")
    assert split_clean["_id"].tolist() == clean["_id"].tolist()
    assert s["clean_rows"] == len(clean) == sum(s["split"]["sizes"].values())


def test_adapter_refuses_splits_built_for_another_recipe(tmp_path, instance):
    recipe = _recipe(tmp_path, "risk_small.yaml", max_train_examples=10)
    config = {"ops": {"risk_splits": {"config": {"recipe": str(recipe)}}}}  # the adapter left on the default recipe
    result = dg.materialize([*DATA_ASSETS, model_assets(RISK, risk.data.split_params)[0]], instance=instance,
                            resources={"mlflow": MLflowTracking()}, run_config=config, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "risk_adapter" and "same recipe" in str(failure.event_specific_data.error)


def test_run_config_gives_the_recipe_to_every_asset_that_reads_it():
    assert run_config("risk", None, "r.yaml")["ops"] == {"risk_splits": {"config": {"recipe": "r.yaml"}},
                                                         "risk_adapter": {"config": {"recipe": "r.yaml"}}}
    assert run_config("tickets", None, "t.yaml")["ops"] == {"ticket_adapter": {"config": {"recipe": "t.yaml"}}}
