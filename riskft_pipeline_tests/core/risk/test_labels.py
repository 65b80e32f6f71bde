"""Incidents linked to the changes that caused them ("caused by change") label those changes."""

from __future__ import annotations

import pandas as pd
import pytest

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.labels import label_from_incidents, read_incidents_csv
from riskft_pipeline.core.risk.mining import mine_repository, write_changes_csv
from riskft_pipeline_tests.core.risk.gitrepo_factory import build_sample_repo

H1, H2, H3, H4 = "1a2b3c4d" + "0" * 32, "1a2b3c4e" + "1" * 32, "9f" * 20, "abcdef12" + "2" * 32


@pytest.fixture
def changes() -> pd.DataFrame:
    return pd.DataFrame({
        "_id": [H1, H2, H3, H4],
        "bug": [1, 0, 0, 0],
        "la": [10, 2, 5, 1],
        "chg": ["CHG0000001", "", "CHG0000003", ""],
    }, index=[5, 5, 7, 8])  # a repeated index must not mislabel rows


def incidents(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["number", "caused_by_change"])


def test_full_hash_prefix_and_change_number(changes):
    inc = incidents([("INC1", H3), ("INC2", H2[:7].upper() + "e"), ("INC3", "CHG0000001")])
    out, summary = label_from_incidents(changes, inc, change_number_col="chg")
    assert list(out["bug"]) == [1, 1, 1, 0]
    assert list(out["label_source"]) == ["both", "incident", "incident", "none"]
    assert list(out.index) == [5, 5, 7, 8] and list(out["la"]) == [10, 2, 5, 1]
    assert (summary["matched"], summary["unmatched"], summary["changes_labelled"]) == (3, 0, 3)
    assert summary["changes_newly_labelled"] == 2
    assert summary["label_sources"] == {"none": 1, "szz": 0, "incident": 2, "both": 1}
    assert list(changes["bug"]) == [1, 0, 0, 0]  # input untouched


def test_unmatched_incidents_are_listed_with_reasons(changes):
    inc = incidents([
        ("INC1", "1a2b3c4"),      # prefix of H1 and H2
        ("INC2", "deadbeef99"),   # no such change
        ("INC3", ""),             # no link
        ("INC4", "1a2b"),         # too short
        ("INC5", "CHG0000009"),   # not a hash, no such change number
        ("INC6", f"{H4[:10]}, deadbeef99"),  # one of two ids matches: the incident counts as matched
    ])
    out, summary = label_from_incidents(changes, inc, change_number_col="chg")
    assert (summary["incidents"], summary["matched"], summary["unmatched"]) == (6, 1, 5)
    reasons = {u["number"]: u["reason"] for u in summary["unmatched_incidents"]}
    assert reasons == {
        "INC1": "1a2b3c4: ambiguous prefix (2 changes)",
        "INC2": "deadbeef99: no change with this id",
        "INC3": "no change id",
        "INC4": "1a2b: hash prefix shorter than 7",
        "INC5": "CHG0000009: not a commit hash",
    }
    assert list(out["bug"]) == [1, 0, 0, 1]


def test_incidents_only_labels(changes):
    out, summary = label_from_incidents(changes, incidents([("INC1", H3)]), keep_szz=False)
    assert list(out["bug"]) == [0, 0, 1, 0]
    assert list(out["label_source"]) == ["none", "none", "incident", "none"]
    assert summary["bug_rate"] == 0.25


def test_missing_columns_are_input_errors(changes, tmp_path):
    with pytest.raises(InputError, match="caused_by_change"):
        label_from_incidents(changes, pd.DataFrame({"number": ["INC1"]}))
    with pytest.raises(InputError, match="change-number column: nope"):
        label_from_incidents(changes, incidents([]), change_number_col="nope")
    bad = tmp_path / "inc.csv"
    bad.write_text("number,opened_at,short_description\nINC1,2024-01-01,down\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing required column\(s\): caused_by_change"):
        read_incidents_csv(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="file is empty"):
        read_incidents_csv(empty)
    with pytest.raises(InputError, match="not found"):
        read_incidents_csv(tmp_path / "absent.csv")


def test_ragged_incident_rows_are_listed_as_malformed_not_the_whole_file(changes, tmp_path):
    """Before, one line with an extra field refused the whole incidents file (exit 2)."""
    path = tmp_path / "incidents.csv"
    path.write_text(f"number,caused_by_change\nINC1,{H3}\nINC2,{H4},extra,cells\nINC3\n", encoding="utf-8")
    df = read_incidents_csv(path)
    out, summary = label_from_incidents(changes, df)
    assert (summary["incidents"], summary["matched"], summary["unmatched"]) == (3, 1, 2)
    assert {u["number"]: u["reason"] for u in summary["unmatched_incidents"]} == {
        "INC2": "malformed_row", "INC3": "malformed_row"}
    assert list(out["bug"]) == [1, 0, 1, 0], "a malformed row labels nothing (H4 stays 0)"


def test_a_latin1_incidents_file_is_read(changes, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_bytes(f"number,caused_by_change,short_description\nINC1,{H3},Caf\xe9 down\n".encode("latin-1"))
    df = read_incidents_csv(path)
    assert df.loc[0, "short_description"] == "Café down" and df.attrs["encoding"] == "latin-1"
    assert label_from_incidents(changes, df)[1]["matched"] == 1


def test_servicenow_export_labels_mined_changes(tmp_path):
    """End to end: mine the sample repository, link two incidents by short hash, write and read the result."""
    repo = build_sample_repo(tmp_path / "repo")
    mined = mine_repository(repo.path, progress=False)
    path = tmp_path / "incidents.csv"
    path.write_text(
        "number,opened_at,short_description,caused_by_change\n"
        f"INC0001234,2023-11-21 10:00:00,Clamp returns wrong bound,{repo.hashes['c4'][:8]}\n"
        f"INC0001240,2023-11-25 09:00:00,FAQ renders badly,{repo.hashes['c7']}\n"
        "INC0001300,2023-11-26 09:00:00,Unknown cause,\n",
        encoding="utf-8",
    )
    out, summary = label_from_incidents(mined, read_incidents_csv(path))
    by_id = out.set_index("_id")
    assert by_id.loc[repo.hashes["c2"], "label_source"] == "szz"
    assert by_id.loc[repo.hashes["c4"], "label_source"] == "incident"
    assert by_id.loc[repo.hashes["c7"], "label_source"] == "incident"
    assert int(out["bug"].sum()) == 3
    assert [u["number"] for u in summary["unmatched_incidents"]] == ["INC0001300"]
    write_changes_csv(out, tmp_path / "labelled.csv")
    back = pd.read_csv(tmp_path / "labelled.csv")
    assert list(back.columns[-1:]) == ["label_source"] and int(back["bug"].sum()) == 3
