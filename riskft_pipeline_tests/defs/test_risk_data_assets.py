"""The first change-risk assets through Dagster on a hostile file: a non-numeric label, a ragged line and Latin-1
bytes are counted and quarantined, never a crash, and the encoding shows in the metadata."""

import dagster as dg

from riskft_pipeline import paths
from riskft_pipeline.defs import risk
from riskft_pipeline.defs.resources import MLflowTracking


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
    s = result.output_for_node("change_features")["summary"]
    assert s["raw_rows"] == 200 == s["clean_rows"] + s["quarantined_rows"]
    assert s["quarantined_rows"] >= 2
