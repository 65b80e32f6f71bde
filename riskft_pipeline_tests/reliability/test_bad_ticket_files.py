"""Bad ticket exports, on purpose: `riskft tickets prepare` never dies with a traceback; an unusable file gets exit 2
and one line, anything else is read with every row clean or quarantined, the same bytes every time, and no formula
cell written back un-escaped."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskft_pipeline.core.tickets import prepare as prepare_module
from riskft_pipeline.paths import embedded_data_dir
from riskft_pipeline_tests.reliability.corpus import (
    FORMULAS,
    TICKET_CORPUS,
    TICKET_HEADER,
    ticket_row,
    tickets_csv,
)
from riskft_pipeline_tests.reliability.harness import (
    check_prepared,
    folder_bytes,
    prepare_tickets,
    read_quarantine,
    run_cli,
    run_cli_subprocess,
)

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check_outcome(data: bytes, expectation: str = "either") -> dict | None:
    """Run prepare twice on ``data``; assert the contract; return the summary (None when refused)."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "export.csv"
        src.write_bytes(data)
        first = prepare_tickets(src, Path(d) / "a")
        assert first.rc in (0, 2), first.stderr
        if first.rc == 2:
            assert expectation in ("refuse", "either"), first.stderr
            assert first.one_clear_line() and first.stderr.startswith("riskft: error: "), first.stderr
            assert not (Path(d) / "a").exists(), "a refused file left outputs behind"
            return None
        assert expectation in ("accept", "either"), "an unusable file was accepted"
        assert first.stderr == ""
        summary = check_prepared(Path(d) / "a")
        second = prepare_tickets(src, Path(d) / "b")
        assert second.rc == 0
        assert folder_bytes(Path(d) / "a") == folder_bytes(Path(d) / "b"), "same input, different bytes"
        return summary


@pytest.mark.parametrize("name", sorted(TICKET_CORPUS))
def test_hand_written_corpus(name):
    data, expectation = TICKET_CORPUS[name]
    _check_outcome(data, expectation)


def test_utf16_excel_export_is_read_not_called_binary():
    summary = _check_outcome(TICKET_CORPUS["UTF-16 export (Excel 'Unicode text')"][0], "accept")
    assert summary["encoding"] == "utf-16" and summary["clean_rows"] == 3


def test_cr_only_line_endings_are_read():
    summary = _check_outcome(TICKET_CORPUS["old Mac CR line endings"][0], "accept")
    assert summary["clean_rows"] == 5 and summary["quarantined_rows"] == 0


def test_duplicate_column_names_are_named_in_a_warning():
    summary = _check_outcome(TICKET_CORPUS["duplicate column names"][0], "accept")
    assert any("named more than once" in w and "content" in w for w in summary["warnings"])


def test_formula_cells_are_escaped_in_quarantine_and_kept_verbatim_after_the_apostrophe(tmp_path):
    src = tmp_path / "formulas.csv"
    src.write_bytes(TICKET_CORPUS["formula cells everywhere"][0])
    assert prepare_tickets(src, tmp_path / "out").rc == 0
    quarantine = read_quarantine(tmp_path / "out" / "quarantine.csv")
    cells = set(quarantine.to_numpy().ravel())
    for payload in FORMULAS:  # each payload was a ticket number and a date of quarantined rows
        assert "'" + payload in cells, payload
        assert payload not in cells, payload


def test_bare_carriage_return_in_a_quarantined_cell_survives_the_round_trip(tmp_path):
    rows = [ticket_row("INC1"), ticket_row("INC2", date="bad\rdate", close_notes="a\rb")]
    src = tmp_path / "cr.csv"
    src.write_bytes(tickets_csv(rows, quoting=csv.QUOTE_ALL))
    assert prepare_tickets(src, tmp_path / "out").rc == 0
    quarantine = read_quarantine(tmp_path / "out" / "quarantine.csv")
    assert quarantine["close_notes"].tolist() == ["a\rb"]  # one row, not two halves


# --- properties ----------------------------------------------------------------------------------------------------

_TRICKY = ("", " ", "NaN", "inf", "-inf", "-1", "null", "None", "number", "short_description", '"', '""', ",", ";",
           "\t", "\n", "\r", "\r\n", "'", "\\", "\ufeff", "\u00a0", "\u2028", "é", "😀", "<|im_start|>", *FORMULAS)
_cells = st.one_of(
    st.sampled_from(_TRICKY),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    st.builds(lambda a, b: a + b, st.sampled_from(_TRICKY), st.text(max_size=10)),
)
_columns = TICKET_HEADER[1:]
_rows = st.lists(
    st.builds(lambda n, over: {**ticket_row(f"INC{n}"), **over}, st.integers(0, 6),
              st.dictionaries(st.sampled_from(_columns), _cells, max_size=4)),
    min_size=0, max_size=8,
)


@st.composite
def exports(draw) -> bytes:
    """A ticket export with random content, layout and damage."""
    header = list(TICKET_HEADER)
    if draw(st.booleans()):
        del header[draw(st.integers(1, len(header) - 1))]
    if draw(st.booleans()):
        header.insert(draw(st.integers(1, len(header))), draw(st.sampled_from(["extra", "content", "=x", ""])))
    rows = draw(_rows)
    sep = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline, quoting=quoting)
    writer.writerow(header)
    for i, row in enumerate(rows):
        writer.writerow([str(i)] + [row.get(c, "") for c in header[1:]])
    text = buf.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    damage = draw(st.sampled_from(["none", "truncate", "splice", "append junk"]))
    if damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "splice" and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=20)) + data[at:]
    elif damage == "append junk":
        data += draw(st.binary(max_size=60))
    return data


@SETTINGS
@given(data=exports())
def test_any_export_is_refused_cleanly_or_fully_accounted_for(data):
    _check_outcome(data)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.binary(max_size=3000), header=st.booleans())
def test_random_bytes_never_crash(data, header):
    prefix = tickets_csv([]) if header else b""
    _check_outcome(prefix + data)


# --- the process boundary --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, rc", [("random bytes", 2), ("only a header", 2), ("formula cells everywhere", 0)])
def test_console_entry_point_in_a_child_process(tmp_path, name, rc):
    src = tmp_path / "export.csv"
    src.write_bytes(TICKET_CORPUS[name][0])
    run = run_cli_subprocess(["tickets", "prepare", "--input", str(src), "--out", str(tmp_path / "out")])
    assert run.rc == rc, run.stderr
    assert "Traceback" not in run.stderr
    assert run.one_clear_line() if rc else run.stderr == ""


def test_missing_input_and_debug_flag(tmp_path):
    missing = run_cli(["tickets", "prepare", "--input", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert missing.rc == 2 and missing.one_clear_line() and "not found" in missing.stderr
    directory = run_cli(["tickets", "prepare", "--input", str(tmp_path), "--out", str(tmp_path / "o")])
    assert directory.rc == 2 and directory.one_clear_line()
    debug = run_cli_subprocess(["tickets", "prepare", "--input", str(tmp_path / "nope.csv"), "--out",
                                str(tmp_path / "o"), "--debug"])
    assert debug.rc != 0 and "Traceback" in debug.stderr  # --debug is the way to get one


def test_an_internal_bug_is_one_line_with_exit_1(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("internal")

    monkeypatch.setattr(prepare_module, "clean_tickets", broken)
    run = prepare_tickets(embedded_data_dir() / "tickets.csv", tmp_path / "out")
    assert run.rc == 1 and run.one_clear_line() and "unexpected error: KeyError" in run.stderr
    assert not (tmp_path / "out").exists()
