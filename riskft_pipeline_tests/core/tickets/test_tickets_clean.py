"""Cleaning: every bad row quarantined with its reason, labels normalised, nothing lost, nothing private kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from riskft_pipeline.core.tickets.clean import CLEAN_COLUMNS, check_invariant, clean_tickets
from riskft_pipeline.core.tickets.io import read_ticket_csv
from riskft_pipeline.core.tickets.schema import schema_errors, validate_clean


def _reasons(result) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for number, reason in zip(result.quarantine["number"], result.quarantine["reason"]):
        out.setdefault(reason, []).append(number)
    return out


def test_each_quarantine_reason(ticket, raw_frame):
    rows = [
        ticket("INC1"),
        ticket("INC2", short_description="", content="  "),
        ticket("INC3", category=""),
        ticket("INC4", type=" "),
        ticket("INC5", date="31/31/2021 25:99"),
        ticket("INC6", date="3/31/1870 10:00"),
        ticket("INC7", content="x" * 20001),
        ticket("INC8"),
        ticket("INC8"),  # exact duplicate: one copy stays
        ticket("INC9", content="first version"),
        ticket("INC9", content="second version"),  # same number, different content: both out
        ticket("INC10", short_description="Same subject", content="Same body"),
        ticket("INC11", short_description="same subject ", content="Same  body"),  # same text: first stays
        ticket("", short_description="no number"),
        ticket("number", short_description="short_description"),  # a header line inside the data
        ticket("INC12", date=""),  # an empty date is allowed
    ]
    result = clean_tickets(raw_frame(rows))
    assert _reasons(result) == {
        "missing text": ["INC2"],
        "missing label": ["INC3", "INC4"],
        "unparseable date": ["INC5", "INC6"],
        "oversize field": ["INC7"],
        "duplicate row": ["INC8"],
        "duplicate ticket number": ["INC9", "INC9"],
        "duplicate text": ["INC11"],
        "missing ticket number": [""],
        "repeated header row": ["number"],
    }
    assert list(result.clean["number"]) == ["INC1", "INC8", "INC10", "INC12"]
    summary = result.summary
    assert summary["raw_rows"] == len(rows) == summary["clean_rows"] + summary["quarantined_rows"]
    assert summary["quarantine_reasons"]["duplicate ticket number"] == 2


def test_quarantine_keeps_the_original_cells(ticket, raw_frame):
    raw = ticket("INC1", category="", customer="Morgan, Gregory", content="  raw  text  with anna@x.org ")
    result = clean_tickets(raw_frame([raw]))
    row = result.quarantine.iloc[0]
    assert row["reason"] == "missing label"
    assert row["content"] == raw["content"] and row["customer"] == "Morgan, Gregory"


def test_first_reason_wins(ticket, raw_frame):
    result = clean_tickets(
        raw_frame([ticket("INC1", short_description="", content="", category="", date="bad")])
    )
    assert result.summary["quarantine_reasons"] == {"missing text": 1}


def test_labels_are_normalised(ticket, raw_frame):
    rows = [
        ticket("INC1", type=" incident", category=" software ", subcategory="Error  ", assignment_group="tier  2 team",
               contact_type="self-service", **{"software/system": "  Microsoft   Teams ", "issue/request": ""}),
    ]  # fmt: skip
    row = clean_tickets(raw_frame(rows)).clean.iloc[0]
    assert (row["type"], row["category"], row["subcategory"]) == ("Incident", "SOFTWARE", "ERROR")
    assert row["assignment_group"] == "TIER 2 TEAM"
    assert row["contact_type"] == "Self-service"
    assert row["software_system"] == "Microsoft Teams"
    assert row["issue_request"] is None


def test_dates_become_iso_8601(ticket, raw_frame):
    rows = [
        ticket("INC1", date="3/1/2021 9:05"),
        ticket("INC2", date="2021-03-01 09:05:00"),
        ticket("INC3", date=""),
    ]
    clean = clean_tickets(raw_frame(rows)).clean
    assert list(clean["date"]) == ["2021-03-01T09:05:00", "2021-03-01T09:05:00", None]


def test_clean_frame_is_pii_free_and_model_text_is_redacted(ticket, raw_frame):
    rows = [
        ticket(
            "INC1",
            customer="Morgan, Gregory",
            short_description="Mailbox for Gregory Morgan",
            content="Please add Anna\u00a0Smith (anna.smith@example.com, +1 312 555 0182) to the group.",
            **{"issue/request": "Add Michael Williams to group"},
        )
    ]
    result = clean_tickets(raw_frame(rows))
    clean = result.clean
    assert tuple(clean.columns) == CLEAN_COLUMNS
    assert clean.loc[0, "text"] == (
        "Mailbox for <PERSON>\nPlease add <PERSON> (<EMAIL>, <PHONE>) to the group."
    )
    assert clean.loc[0, "issue_request"] == "Add <PERSON> to group"
    assert result.summary["redactions"] == {"email": 1, "phone": 1, "person": 3}


def test_text_is_subject_then_body_with_whitespace_tidied(ticket, raw_frame):
    row = ticket("INC1", short_description="  VPN  down ", content="Line 1\r\n\r\n\r\n  Line 2\t\tend  ")
    assert clean_tickets(raw_frame([row])).clean.loc[0, "text"] == "VPN down\nLine 1\n\nLine 2 end"


def test_malformed_lines_from_the_reader_are_counted(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        "number,type,short_description,content,category\n"
        "INC1,Incident,Outlook down,It crashes,SOFTWARE\n"
        "INC2,Incident,Too,many,fields,SOFTWARE\n"
    )
    read = read_ticket_csv(path)
    result = clean_tickets(read.df, bad_rows=read.bad_rows)
    assert result.summary["raw_rows"] == 2
    assert result.summary["quarantine_reasons"] == {"malformed row": 1}
    assert list(result.quarantine["number"]) == ["INC2"]


@pytest.mark.parametrize("seed", range(8))
def test_invariant_holds_on_random_messy_frames(seed, ticket, raw_frame):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(60):
        row = ticket(f"INC{rng.integers(0, 40)}", content=f"body {rng.integers(0, 30)}")
        for col in ("short_description", "content", "category", "type", "date", "number"):
            if rng.random() < 0.1:
                row[col] = rng.choice(["", "  ", "garbage", "=cmd|' /C calc'!A0", "3/3/2021 10:00"])
        rows.append(row)
    rows += rows[: rng.integers(0, 10)]
    result = clean_tickets(raw_frame(rows))
    check_invariant(result.summary)
    assert result.summary["raw_rows"] == len(rows)
    assert len(result.clean) + len(result.quarantine) == len(rows)
    assert result.clean["number"].is_unique
    assert schema_errors(result.clean) == []


def test_check_invariant_raises_on_broken_accounting():
    good = {"raw_rows": 3, "clean_rows": 2, "quarantined_rows": 1, "quarantine_reasons": {"missing text": 1}}
    check_invariant(good)
    with pytest.raises(AssertionError, match="raw 3 != clean 2 \\+ quarantined 0"):
        check_invariant({**good, "quarantined_rows": 0, "quarantine_reasons": {}})
    with pytest.raises(AssertionError, match="reasons"):
        check_invariant({**good, "quarantine_reasons": {"missing text": 2}})


def test_empty_frame_after_quarantine_is_still_valid(ticket, raw_frame):
    result = clean_tickets(raw_frame([ticket("INC1", category="")]))
    assert len(result.clean) == 0 and tuple(result.clean.columns) == CLEAN_COLUMNS
    assert result.summary["quarantined_rows"] == 1


def test_schema_accepts_clean_output_and_rejects_violations(ticket, raw_frame):
    clean = clean_tickets(raw_frame([ticket("INC1"), ticket("INC2"), ticket("INC3")])).clean
    validate_clean(clean)
    broken = clean.copy()
    broken.loc[0, "category"] = "software "
    broken.loc[1, "number"] = broken.loc[2, "number"]
    broken.loc[2, "date"] = "3/3/2021"
    errors = schema_errors(broken)
    assert any(e.startswith("category") for e in errors)
    assert any(e.startswith("number") and "uniqueness" in e for e in errors)
    assert any(e.startswith("date") for e in errors)
    with pytest.raises(pa.errors.SchemaErrors):
        validate_clean(broken.assign(customer="Morgan, Gregory"))


def test_default_data_cleans_with_every_reason_exercised(default_csv):
    read = read_ticket_csv(default_csv)
    result = clean_tickets(read.df, bad_rows=read.bad_rows)
    check_invariant(result.summary)
    assert set(result.summary["quarantine_reasons"]) >= {
        "missing text", "missing label", "unparseable date", "duplicate ticket number", "duplicate row",
        "duplicate text", "oversize field",
    }  # fmt: skip
    assert result.summary["redactions"]["person"] > 50
    assert result.summary["redactions"]["email"] > 5 and result.summary["redactions"]["phone"] > 5
    assert schema_errors(result.clean) == []
    assert isinstance(result.clean, pd.DataFrame) and len(result.clean) > 1000


def test_full_width_and_unicode_spaces_are_normalised_before_redaction(ticket, raw_frame):
    row = ticket("INC1", content="Call me at ＋１ ３１２ ５５５ ０１８２ or write to Anna\u2009Smith.")
    assert (
        clean_tickets(raw_frame([row]))
        .clean.loc[0, "text"]
        .endswith("Call me at <PHONE> or write to <PERSON>.")
    )
