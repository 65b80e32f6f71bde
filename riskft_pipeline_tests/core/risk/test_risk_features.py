"""Reading and validating change metrics: unusable files are refused with a clear message, bad rows are quarantined
with a reason, nothing is lost (raw == clean + quarantined), and the label copy ``__`` never becomes a feature."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pandas as pd
import pytest

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.features import (
    FEATURES,
    MALFORMED_COLUMN,
    clean_changes,
    feature_matrix,
    read_changes_csv,
)
from riskft_pipeline_tests.core.risk.risk_rows import NOW, SHARED, change, needs_shared


def test_features_are_the_14_kamei_metrics_in_order():
    assert FEATURES == ("ns", "nd", "nf", "entrophy", "la", "ld", "lt", "fix", "ndev", "age", "nuc", "exp",
                        "rexp", "sexp")
    assert "__" not in FEATURES and "bug" not in FEATURES


def test_label_copy_and_index_column_are_dropped_on_read(write_csv):
    path = write_csv([change("a", bug=1), change("b", bug=0)])
    header = path.read_text().splitlines()[0]
    assert header.startswith(",_id") and "__" in header  # the traps are in the file...
    df = read_changes_csv(path)
    assert "__" not in df.columns and not any(c.startswith("Unnamed") for c in df.columns)  # ...not in the frame
    result = clean_changes(df, now=NOW)
    assert list(result.clean.columns) == ["_id", "date", "bug", *FEATURES]
    np.testing.assert_array_equal(feature_matrix(result.clean)[:, FEATURES.index("la")], [10.0, 10.0])


def test_label_copy_is_dropped_even_when_a_frame_is_passed_directly():
    df = pd.DataFrame([change("a", bug=1), change("b")]).assign(__=["1", "0"])
    assert "__" not in clean_changes(df, now=NOW).clean.columns
    assert clean_changes(df, now=NOW).summary["dropped_columns"] == ["__"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\n \n\n", "file is empty"),  # no header
        (b"_id,date,bug\n", "missing required column(s): ns, nd, nf"),
        (b"\xff\xfe\x00\x01binary\x00\x00", "not a CSV file (binary content)"),
        (random.Random(7).randbytes(4000), "not a CSV file (binary content)"),
        (gzip.compress(b"_id,date,bug\n1,2,3\n", mtime=0), "not a CSV file (binary content)"),
    ],
    ids=["empty", "blank lines", "metrics missing", "utf16 binary", "random bytes", "gzip"],
)
def test_unusable_files_raise_input_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        read_changes_csv(path)
    assert "\n" not in str(err.value), "one line (the CLI prints it and exits 2)"


def test_missing_file_and_header_only_file(tmp_path, write_csv):
    with pytest.raises(InputError, match="not found"):
        read_changes_csv(tmp_path / "nope.csv")
    header_only = tmp_path / "h.csv"
    header_only.write_text(",".join(change("x")) + "\n")
    with pytest.raises(InputError, match="no rows"):
        read_changes_csv(header_only)


def test_missing_columns_are_named(write_csv):
    rows = [{k: v for k, v in change("a").items() if k not in ("la", "sexp")}]
    with pytest.raises(InputError, match="la, sexp"):
        read_changes_csv(write_csv(rows))


def test_ragged_rows_are_quarantined_as_malformed_not_the_whole_file(tmp_path):
    """A line with too few and one with too many fields: before, the whole file was refused (exit 2)."""
    header = ",".join(change("h"))
    good = [",".join(change(f"ok{i}", date=1_600_000_000 + i).values()) for i in range(3)]
    short = "short,1600000000,0,1"
    long = ",".join([*change("long").values(), "extra", "cells"])
    path = tmp_path / "changes.csv"
    path.write_text("\n".join([header, good[0], short, good[1], long, good[2]]) + "\n", encoding="utf-8")
    df = read_changes_csv(path)
    result = clean_changes(df, now=NOW)
    s = result.summary
    assert s["raw_rows"] == 5 == s["clean_rows"] + s["quarantined_rows"]
    assert result.clean["_id"].tolist() == ["ok0", "ok1", "ok2"]
    assert s["quarantine_reasons"] == {"malformed_row": 2}
    assert sorted(result.quarantine["_id"]) == ["long", "short"]
    assert MALFORMED_COLUMN not in result.quarantine.columns and MALFORMED_COLUMN not in result.clean.columns
    assert MALFORMED_COLUMN not in s["ignored_columns"] + s["dropped_columns"]
    assert any("malformed" in w for w in s["warnings"])


def test_a_latin1_file_is_read_and_the_encoding_recorded(tmp_path):
    """Before, one Latin-1 byte refused the whole file (UnicodeDecodeError, exit 2)."""
    rows = [change("a") | {"message": "Fix café naïve"}, change("b") | {"message": "plain"}]
    path = tmp_path / "changes.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="latin-1")
    result = clean_changes(read_changes_csv(path), now=NOW)
    assert result.clean["message"].tolist() == ["Fix café naïve", "plain"]
    assert result.summary["encoding"] == "latin-1"
    assert any("Latin-1" in w for w in result.summary["warnings"])
    utf8 = tmp_path / "utf8.csv"
    pd.DataFrame(rows).to_csv(utf8, index=False)
    assert clean_changes(read_changes_csv(utf8), now=NOW).summary["encoding"] == "utf-8"


BAD_ROWS = {
    "missing_id": change(""),
    "bad_date": change("d1", date="yesterday"),
    "future_date": change("d2", date=int(NOW) + 3600),
    "nonfinite_metric": change("m1", la="nan"),
    "negative_metric": change("m2", ld=-4),
    "bad_label": change("l1", bug=2),
    "bad_fix": change("f1", fix="maybe"),
}


@pytest.mark.parametrize("reason", list(BAD_ROWS))
def test_each_bad_row_is_quarantined_with_its_reason(write_csv, reason):
    df = read_changes_csv(write_csv([change("ok1"), BAD_ROWS[reason], change("ok2")]))
    result = clean_changes(df, now=NOW)
    assert list(result.clean["_id"]) == ["ok1", "ok2"]
    assert list(result.quarantine["reason"]) == [reason]
    assert result.quarantine["source_row"].tolist() == [1]
    assert result.summary["quarantine_reasons"] == {reason: 1}


def test_infinite_and_non_numeric_metrics_are_quarantined():
    df = pd.DataFrame([change("a", nf="inf"), change("b", exp="many"), change("c")])
    result = clean_changes(df, now=NOW)
    assert result.summary["quarantine_reasons"] == {"nonfinite_metric": 2}


def test_fix_accepts_boolean_spellings_and_bug_accepts_only_0_or_1():
    df = pd.DataFrame([change("a", fix="True"), change("b", fix="no"), change("c", fix="1"),
                       change("d", bug="yes"), change("e", bug="1.0")])
    result = clean_changes(df, now=NOW)
    assert dict(zip(result.clean["_id"], result.clean["fix"])) == {"a": 1, "b": 0, "c": 1, "e": 0}
    assert result.quarantine["_id"].tolist() == ["d"]
    assert result.clean.set_index("_id").loc["e", "bug"] == 1


def test_exact_duplicates_keep_one_copy_conflicting_ones_are_all_quarantined():
    df = pd.DataFrame([change("same"), change("same"), change("x", bug=0), change("x", bug=1), change("y")])
    result = clean_changes(df, now=NOW)
    assert sorted(result.clean["_id"]) == ["same", "y"]
    assert result.summary["quarantine_reasons"] == {"duplicate_row": 1, "conflicting_duplicate_id": 2}


def test_dates_out_of_order_are_sorted_stably_and_counted():
    dates = [300, 100, 200, 200, 400]
    df = pd.DataFrame([change(f"c{i}", date=1_600_000_000 + d) for i, d in enumerate(dates)])
    result = clean_changes(df, now=NOW)
    assert result.clean["_id"].tolist() == ["c1", "c2", "c3", "c0", "c4"]  # c2 before c3: equal dates keep order
    assert result.summary["out_of_order_rows"] == 3  # c1, c2, c3 come after a later date
    assert result.clean["date"].is_monotonic_increasing


def test_iso_dates_are_read_as_unix_seconds():
    df = pd.DataFrame([change("a", date="2021-01-01T00:00:00Z"), change("b", date="2021-01-02")])
    assert clean_changes(df, now=NOW).clean["date"].tolist() == [1_609_459_200, 1_609_545_600]


def test_invariant_holds_on_random_mixtures_of_good_and_bad_rows():
    rng = np.random.default_rng(0)
    bad = list(BAD_ROWS.values())
    for trial in range(20):
        rows = [change(f"g{trial}-{i}", date=1_600_000_000 + int(rng.integers(0, 10**6))) for i in range(30)]
        rows += [bad[int(k)] for k in rng.integers(0, len(bad), int(rng.integers(0, 15)))]
        rng.shuffle(rows)
        s = clean_changes(pd.DataFrame(rows), now=NOW).summary
        assert s["raw_rows"] == len(rows) == s["clean_rows"] + s["quarantined_rows"]
        assert sum(s["quarantine_reasons"].values()) == s["quarantined_rows"]


def test_text_columns_are_kept_and_unknown_columns_reported():
    df = pd.DataFrame([change("a") | {"message": "Fix crash", "diff_summary": None, "author": "ann"}])
    result = clean_changes(df, now=NOW)
    assert result.clean.loc[0, "message"] == "Fix crash" and result.clean.loc[0, "diff_summary"] == ""
    assert result.summary["text_columns"] == ["message", "diff_summary"]
    assert result.summary["ignored_columns"] == ["author"] and "author" not in result.clean.columns


@needs_shared
def test_public_data_reads_clean_and_without_the_label_copy():
    result = clean_changes(read_changes_csv(SHARED / "qt_k_feature.csv"))
    assert result.summary["raw_rows"] == 23912 == result.summary["clean_rows"]
    assert "__" not in result.clean.columns
