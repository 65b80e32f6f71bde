"""Bad change-metric files, on purpose: `riskft risk label` and the risk data chain refuse an unusable file with one
line (exit 2), otherwise account for every row (clean or quarantined with a reason), validate what they keep, give
the same bytes for the same input, and never write a formula cell back un-escaped."""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import read_jsonl
from riskft_pipeline.core.risk.examples import prepare_risk
from riskft_pipeline.core.risk.features import (
    COUNT_FEATURES,
    DATE,
    FEATURES,
    ID,
    REASONS,
    REQUIRED,
    clean_changes,
)
from riskft_pipeline.core.risk.mining import write_changes_csv
from riskft_pipeline_tests.reliability.corpus import (
    CHANGE_CORPUS,
    FORMULAS,
    change_row,
    changes_csv,
    formula_cells,
)
from riskft_pipeline_tests.reliability.harness import folder_bytes, read_quarantine, run_cli

NOW = 1_700_000_000.0


def _label(changes: Path, out: Path):
    incidents = changes.with_name("incidents.csv")
    incidents.write_text(f"number,caused_by_change\nINC1,{3:040x}\n", encoding="utf-8")
    return run_cli(["risk", "label", "--changes", str(changes), "--incidents", str(incidents), "--out", str(out)])


@pytest.mark.parametrize("name", sorted(CHANGE_CORPUS))
def test_hand_written_corpus_through_the_cli(tmp_path, name):
    data, expectation = CHANGE_CORPUS[name]
    src = tmp_path / "changes.csv"
    src.write_bytes(data)
    run = _label(src, tmp_path / "labelled.csv")
    assert run.rc in (0, 2), run.stderr
    if run.rc == 2:
        assert expectation in ("refuse", "either") and run.one_clear_line(), run.stderr
        assert not (tmp_path / "labelled.csv").exists()
        return
    assert expectation in ("accept", "either"), "an unusable file was accepted"
    labelled = (tmp_path / "labelled.csv").read_bytes()
    assert formula_cells(labelled) == []
    assert _label(src, tmp_path / "again.csv").rc == 0
    assert (tmp_path / "again.csv").read_bytes() == labelled


@pytest.mark.parametrize("name", sorted(n for n, (_, e) in CHANGE_CORPUS.items() if e != "refuse"))
def test_hand_written_corpus_through_the_data_chain(tmp_path, name):
    src = tmp_path / "changes.csv"
    src.write_bytes(CHANGE_CORPUS[name][0])
    try:
        summary = prepare_risk(src, tmp_path / "a", now=NOW)
    except InputError:  # the only acceptable failure (the CLI prints it as one line); anything else fails the test
        assert CHANGE_CORPUS[name][1] == "either"
        assert not (tmp_path / "a").exists()
        return
    assert summary["raw_rows"] == summary["clean_rows"] + summary["quarantined_rows"]
    assert len(read_quarantine(tmp_path / "a" / "quarantine.csv")) == summary["quarantined_rows"]
    assert formula_cells((tmp_path / "a" / "quarantine.csv").read_bytes()) == []
    prepare_risk(src, tmp_path / "b", now=NOW)
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "b")


def test_hostile_values_are_quarantined_with_their_reason(tmp_path):
    src = tmp_path / "changes.csv"
    src.write_bytes(CHANGE_CORPUS["NaN/inf/negative metrics, bad and future dates, duplicates, formulas"][0])
    summary = prepare_risk(src, tmp_path / "out", now=NOW)
    assert summary["quarantine_reasons"] == {
        "nonfinite_metric": 4, "negative_metric": 1, "future_date": 1, "bad_date": 1, "bad_label": 1, "bad_fix": 1,
        "missing_id": 1, "duplicate_row": 1, "conflicting_duplicate_id": 2,
    }
    quarantine = read_quarantine(tmp_path / "out" / "quarantine.csv")
    assert "'" + FORMULAS[0] in set(quarantine["la"])  # the raw formula is kept, escaped
    clean = pd.read_parquet(tmp_path / "out" / "clean.parquet")
    assert clean[DATE].is_monotonic_increasing and clean[DATE].max() <= NOW  # out-of-order rows sorted in


# --- properties ----------------------------------------------------------------------------------------------------

_values = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "NaN", "nan", "inf", "-inf", "1e309", "0x10", "1,5", "true", "yes", "maybe", "None",
                     "2021-06-01T12:00:00Z", "2099-01-01", "not a date", *FORMULAS]),
    st.text(max_size=12),
)
_frames = st.lists(
    st.builds(lambda i, over: {**{k: str(v) for k, v in change_row(i).items()}, **over}, st.integers(0, 8),
              st.dictionaries(st.sampled_from([*REQUIRED, "message"]), _values, max_size=4)),
    min_size=1, max_size=25,
).map(lambda rows: pd.DataFrame(rows, dtype=object))


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_frames)
def test_clean_changes_accounts_for_every_row_and_keeps_only_valid_ones(raw):
    result = clean_changes(raw, now=NOW)
    s, clean, quarantine = result.summary, result.clean, result.quarantine
    assert s["raw_rows"] == len(raw) == len(clean) + len(quarantine)
    assert set(quarantine["reason"]) <= set(REASONS)
    assert quarantine["source_row"].is_unique
    if len(clean):
        metrics = clean[list(COUNT_FEATURES)].to_numpy(dtype=float)
        assert np.isfinite(metrics).all() and (metrics >= 0).all()
        assert clean["bug"].isin([0, 1]).all() and clean["fix"].isin([0, 1]).all()
        assert clean[DATE].is_monotonic_increasing and clean[DATE].max() <= NOW
        assert clean[ID].is_unique and (clean[ID].str.strip() != "").all()
        assert list(clean.columns[: 3 + len(FEATURES)]) == [ID, DATE, "bug", *FEATURES]
    again = clean_changes(raw.copy(), now=NOW)
    pd.testing.assert_frame_equal(again.clean, clean)
    pd.testing.assert_frame_equal(again.quarantine, quarantine)


# A bare CR is left out: write_changes_csv does not quote it, so the row splits on read-back (open item R3 in
# docs/reliability.md, owned by the risk core).
_no_cr = st.text(max_size=20).filter(lambda t: "\r" not in t)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(texts=st.lists(st.one_of(st.sampled_from([f for f in FORMULAS if "\r" not in f]), _no_cr), min_size=1,
                      max_size=10))
def test_written_change_files_never_hold_a_formula_cell(texts):
    frame = pd.DataFrame([change_row(i, message=t, diff_summary=t[::-1]) for i, t in enumerate(texts)])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "changes.csv"
        assert write_changes_csv(frame, path) == len(frame)
        data = path.read_bytes()
    assert formula_cells(data) == []


@settings(max_examples=50, deadline=None, derandomize=True)
@given(data=st.binary(max_size=2000), header=st.booleans())
def test_random_bytes_through_the_cli_never_crash(data, header):
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "changes.csv"
        src.write_bytes((changes_csv([]) if header else b"") + data)
        run = _label(src, Path(d) / "labelled.csv")
        assert run.rc in (0, 2), run.stderr
        assert run.rc == 0 or run.one_clear_line(), run.stderr


def test_ragged_rows_and_latin1_bytes_are_quarantined_or_read_not_the_whole_file(tmp_path):
    """R1: one ragged line or one Latin-1 byte used to refuse the whole change file (exit 2)."""
    src = tmp_path / "changes.csv"
    src.write_bytes(CHANGE_CORPUS["ragged rows"][0])
    summary = prepare_risk(src, tmp_path / "ragged", now=NOW)
    assert summary["quarantine_reasons"] == {"malformed_row": 2}
    assert summary["raw_rows"] == 32 == summary["clean_rows"] + summary["quarantined_rows"]
    assert set(read_quarantine(tmp_path / "ragged" / "quarantine.csv")["reason"]) == {"malformed_row"}
    src.write_bytes(CHANGE_CORPUS["Latin-1 message text"][0])
    summary = prepare_risk(src, tmp_path / "latin1", now=NOW)
    assert summary["encoding"] == "latin-1" and summary["clean_rows"] == 30
    assert "café" in pd.read_parquet(tmp_path / "latin1" / "clean.parquet")["message"].iloc[0]
    src.write_bytes(CHANGE_CORPUS["ragged rows"][0])
    assert _label(src, tmp_path / "labelled.csv").rc == 0
    header = (tmp_path / "labelled.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "_malformed_row" not in header, "the reader's internal marker never reaches a file the user gets"


def test_nan_metric_never_reaches_a_prompt(tmp_path):
    rows = [change_row(i) for i in range(30)] + [change_row(40, la="nan"), change_row(41, ld=str(math.inf))]
    src = tmp_path / "changes.csv"
    src.write_bytes(changes_csv(rows))
    prepare_risk(src, tmp_path / "out", now=NOW)
    for name in ("train", "val", "test"):
        for row in read_jsonl(tmp_path / "out" / f"{name}.jsonl"):
            for turn in row["messages"]:
                assert not re.search(r"\b(nan|inf|infinity)\b", turn["content"], re.IGNORECASE), turn["content"]


def test_error_lines_cannot_carry_terminal_escapes_or_newlines(tmp_path):
    """The refusal quotes the file's column names: control characters are shown escaped, never interpreted."""
    src = tmp_path / "changes.csv"
    # enough plain rows that the control characters stay under the reader's "binary content" threshold (1%)
    src.write_bytes(b'"\x1b[2J\x1b]0;owned\x07","line one\nriskft: all good",x\n' + b"1,2,3\n" * 200)
    run = _label(src, tmp_path / "labelled.csv")
    assert run.rc == 2 and run.one_clear_line(), run.stderr
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr and "\\x1b" in run.stderr
