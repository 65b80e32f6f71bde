"""PII audit of everything `riskft tickets prepare` writes: no e-mail, phone number or customer/agent name of the
input survives anywhere but quarantine.csv (raw rows, documented as sensitive, kept in the output folder under the
project's home)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from riskft_pipeline.core.tickets.io import read_ticket_csv
from riskft_pipeline.paths import embedded_data_dir, shared_data_dir
from riskft_pipeline_tests.reliability.corpus import ticket_row, tickets_csv
from riskft_pipeline_tests.reliability.harness import prepare_tickets, read_quarantine
from riskft_pipeline_tests.reliability.pii_audit import audit

SHARED = shared_data_dir()
SHARED_TICKETS = SHARED / "tickets" / "synthetic-it-call-center-tickets-sample.csv" if SHARED else None


def _prepare_and_audit(src: Path, out: Path) -> list[str]:
    run = prepare_tickets(src, out)
    assert run.rc == 0, run.stderr
    return audit(out, read_ticket_csv(src).df)


def test_embedded_export_leaves_no_pii_outside_the_quarantine(tmp_path):
    src = embedded_data_dir() / "tickets.csv"
    assert _prepare_and_audit(src, tmp_path / "out") == []
    # The audit is not blind: the raw rows in the quarantine are full of the people it looks for.
    assert audit(tmp_path / "out", read_ticket_csv(src).df, allowed=())


@pytest.mark.skipif(SHARED_TICKETS is None or not SHARED_TICKETS.is_file(), reason="../shared sample absent")
def test_shared_sample_leaves_no_pii_outside_the_quarantine(tmp_path):
    assert _prepare_and_audit(SHARED_TICKETS, tmp_path / "out") == []


_PII = ("jane.doe@example.com", "+44 20 7946 0958", "(555) 010-1234", "Anna Smith", "Morgan, Gregory",
        "call me at 555 010 1234")
_LABEL_COLUMNS = ("type", "contact_type", "category", "subcategory", "assignment_group", "software/system",
                  "issue/request")


def _pii_everywhere(tmp_path: Path) -> Path:
    """One clean-looking ticket per (PII, column): the PII sits in a column that reaches the outputs."""
    rows = []
    for i, pii in enumerate(_PII):
        for j, col in enumerate((*_LABEL_COLUMNS, "short_description", "content")):
            row = ticket_row(f"INC{i}{j:02d}")
            row[col] = f"{row[col]} {pii}"
            rows.append(row)
        rows.append(ticket_row(pii, content=f"ticket number is personal data {i}"))
        rows.append(ticket_row(f"INC{i}99", content=f"written by {pii} in the body", customer="Doe, Jane"))
    path = tmp_path / "pii.csv"
    path.write_bytes(tickets_csv(rows, quoting=csv.QUOTE_ALL))
    return path


def test_pii_in_any_written_column_is_redacted_or_quarantined(tmp_path):
    src = _pii_everywhere(tmp_path)
    assert _prepare_and_audit(src, tmp_path / "out") == []
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["quarantine_reasons"].get("personal data in ticket number") == len(_PII)
    quarantine = read_quarantine(tmp_path / "out" / "quarantine.csv")
    kept = {n[1:] if n.startswith("'+") else n for n in quarantine["number"]}  # "+44…" is formula-escaped
    assert set(_PII) <= kept  # kept verbatim where it is documented to be


def test_labels_are_redacted_in_their_source_case_then_normalised(tmp_path):
    rows = [ticket_row("INC1", assignment_group="Anna Smith", category="software jane.doe@example.com"),
            ticket_row("INC2")]
    src = tmp_path / "labels.csv"
    src.write_bytes(tickets_csv(rows))
    assert _prepare_and_audit(src, tmp_path / "out") == []
    clean = pd.read_parquet(tmp_path / "out" / "clean.parquet").set_index("number")
    assert clean.loc["INC1", "assignment_group"] == "<PERSON>"
    assert clean.loc["INC1", "category"] == "SOFTWARE <EMAIL>"
    assert clean.loc["INC2", "assignment_group"] == "DESKTOP SUPPORT"  # ordinary labels untouched


def test_quarantine_is_the_only_file_with_raw_columns(tmp_path):
    src = embedded_data_dir() / "tickets.csv"
    assert prepare_tickets(src, tmp_path / "out").rc == 0
    clean_columns = set(pd.read_parquet(tmp_path / "out" / "clean.parquet").columns)
    assert not clean_columns & {"customer", "agent", "close_notes", "poor_close_notes"}
    assert {"customer", "agent"} <= set(read_quarantine(tmp_path / "out" / "quarantine.csv").columns)
