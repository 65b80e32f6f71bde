"""The incoming folder without Dagster: validation, history without duplicates, seen content, broken files moved
aside with a reason, incidents labelling changes, snapshots and the pending-run bookkeeping."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from riskft_pipeline import incoming, paths
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv

CHANGES = paths.embedded_data_dir() / "changes.csv"


@pytest.fixture
def inbox(home) -> Path:
    folder = paths.incoming_dir()
    folder.mkdir(parents=True)
    return folder


def drop(src: Path, folder: Path, name: str) -> Path:
    target = folder / name
    target.write_bytes(src.read_bytes())
    return target


def changes_head(tmp_path: Path, start: int, stop: int, name: str = "c.csv") -> Path:
    df = pd.read_csv(CHANGES, dtype=str, keep_default_na=False)
    path = tmp_path / name
    df.iloc[start:stop].to_csv(path, index=False)
    return path


def test_new_export_is_validated_appended_and_moved(inbox, small_tickets):
    drop(small_tickets, inbox, "tickets_2024-05.csv")
    [o] = incoming.ingest_folder(inbox)
    assert o.status == "accepted" and o.kind == "tickets" and o.chain == "tickets"
    assert o.rows_in == o.rows_added + o.rows_duplicate + o.rows_quarantined
    assert o.rows_quarantined > 0, "the generator plants defects; they must be quarantined, not appended"
    quarantine = pd.read_csv(o.quarantine_file, dtype=str)
    assert len(quarantine) == o.rows_quarantined and quarantine["reason"].str.len().gt(0).all()

    history = pd.read_csv(incoming.history_dir() / "tickets.csv", dtype=str, keep_default_na=False)
    assert len(history) == o.rows_added and history["number"].is_unique
    assert Path(o.snapshot).read_bytes() == (incoming.history_dir() / "tickets.csv").read_bytes()
    assert o.snapshot_sha256 == sha256_file(o.snapshot)
    assert not (inbox / "tickets_2024-05.csv").exists() and Path(o.moved_to).parent == inbox / "processed"

    from riskft_pipeline.core.tickets.prepare import clean, load_raw

    again = clean(load_raw(o.snapshot)).summary
    assert again["clean_rows"] == o.rows_added and again["quarantined_rows"] == 0, "the history re-reads clean"


def test_seen_content_triggers_nothing(inbox, small_tickets):
    drop(small_tickets, inbox, "tickets_a.csv")
    [first] = incoming.ingest_folder(inbox)
    drop(small_tickets, inbox, "tickets_same_bytes_new_name.csv")
    [second] = incoming.ingest_folder(inbox)
    assert second.status == "seen" and "tickets_a.csv" in second.reason
    assert [e["seq"] for e in incoming.load_registry()] == [first.seq], "a seen file adds no registry entry"
    assert incoming.pending_runs(first.seq) == []
    assert not (inbox / "tickets_same_bytes_new_name.csv").exists(), "moved out of the way, not re-hashed forever"


def test_overlapping_export_appends_only_new_tickets(inbox, tmp_path):
    export = generate_tickets(90, seed=11)
    write_tickets_csv(export.iloc[:50], tmp_path / "a.csv")
    drop(tmp_path / "a.csv", inbox, "tickets_a.csv")
    [a] = incoming.ingest_folder(inbox)

    write_tickets_csv(export.iloc[30:], tmp_path / "b.csv")  # rows 30-49 again, then 40 new ones
    drop(tmp_path / "b.csv", inbox, "tickets_b.csv")
    [b] = incoming.ingest_folder(inbox)

    assert b.status == "accepted" and b.rows_duplicate > 10 and b.rows_added > 20
    assert b.rows_in == b.rows_added + b.rows_duplicate + b.rows_quarantined
    history = pd.read_csv(incoming.history_dir() / "tickets.csv", dtype=str, keep_default_na=False)
    assert len(history) == a.rows_added + b.rows_added and history["number"].is_unique
    assert b.snapshot != a.snapshot and Path(a.snapshot).is_file(), "earlier snapshots stay as they were"
    [run] = incoming.pending_runs(0)
    assert run.chain == "tickets" and run.snapshot == b.snapshot and run.files == ("tickets_a.csv", "tickets_b.csv")


def test_file_with_nothing_new_leaves_the_history_and_runs_alone(inbox, tmp_path, small_tickets):
    drop(small_tickets, inbox, "tickets_a.csv")
    [a] = incoming.ingest_folder(inbox)
    reordered = pd.read_csv(small_tickets, dtype=str, keep_default_na=False).iloc[::-1]
    reordered.to_csv(tmp_path / "r.csv", index=False)
    drop(tmp_path / "r.csv", inbox, "tickets_again.csv")
    [b] = incoming.ingest_folder(inbox)
    assert b.status == "accepted" and b.rows_added == 0 and b.snapshot == ""
    assert "did not change" in b.reason
    assert incoming.pending_runs(a.seq) == []


def test_broken_file_is_moved_aside_with_its_reason(inbox):
    bad = inbox / "tickets_broken.csv"
    bad.write_text("id;text\n1;printer on fire\n", encoding="utf-8")
    content = bad.read_bytes()
    [o] = incoming.ingest_folder(inbox)
    assert o.status == "rejected" and "required columns missing" in o.reason
    moved = inbox / "rejected" / "tickets_broken.csv"
    assert moved.read_bytes() == content, "nothing is lost"
    assert "required columns missing" in (inbox / "rejected" / "tickets_broken.csv.reason.txt").read_text()
    assert not (incoming.history_dir() / "tickets.csv").exists()
    assert incoming.pending_runs(0) == []
    assert incoming.load_registry()[0]["status"] == "rejected", "the registry keeps the rejection for audit"


def test_incidents_label_changes_even_when_they_arrive_first(inbox, tmp_path):
    changes = pd.read_csv(CHANGES, dtype=str, keep_default_na=False).iloc[:120]
    clean_target = changes[changes["bug"] == "0"]["_id"].iloc[5]
    pd.DataFrame({"number": ["INC1", "INC2"], "caused_by_change": [clean_target[:10], "ffffffffffff"]}).to_csv(
        inbox / "incidents_may.csv", index=False)
    [inc] = incoming.ingest_folder(inbox)
    assert inc.status == "accepted" and inc.chain == "risk" and inc.snapshot == ""
    assert "until a changes file arrives" in inc.reason

    changes.to_csv(inbox / "changes_may.csv", index=False)
    [chg] = incoming.ingest_folder(inbox)
    assert chg.status == "accepted" and chg.rows_added == 120 and chg.snapshot
    labelled = pd.read_csv(chg.snapshot, dtype=str).set_index("_id")
    assert labelled.loc[clean_target, "bug"] == "1" and labelled.loc[clean_target, "label_source"] == "incident"
    assert chg.labels == {**chg.labels, "incidents": 2, "matched": 1, "unmatched": 1}

    from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv

    assert clean_changes(read_changes_csv(chg.snapshot)).summary["clean_rows"] == 120, "the risk chain reads it"


def test_changes_rows_are_quarantined_and_deduplicated_by_id(inbox, tmp_path):
    df = pd.read_csv(CHANGES, dtype=str, keep_default_na=False).iloc[:30].copy()
    df.loc[3, "la"] = "-5"  # negative metric
    df.loc[4, "date"] = "not a date"
    df.to_csv(inbox / "changes_1.csv", index=False)
    [a] = incoming.ingest_folder(inbox)
    assert (a.rows_in, a.rows_added, a.rows_quarantined) == (30, 28, 2)
    reasons = set(pd.read_csv(a.quarantine_file)["reason"])
    assert reasons == {"negative_metric", "bad_date"}

    pd.read_csv(CHANGES, dtype=str, keep_default_na=False).iloc[20:50].to_csv(inbox / "changes_2.csv", index=False)
    [b] = incoming.ingest_folder(inbox)
    assert (b.rows_added, b.rows_duplicate) == (20, 10)
    history = pd.read_csv(incoming.history_dir() / "changes.csv", dtype=str)
    assert len(history) == 48 and history["_id"].is_unique


def test_files_still_being_written_hidden_or_unknown_wait(inbox, small_tickets):
    young = drop(small_tickets, inbox, "tickets_copying.csv")
    drop(small_tickets, inbox, ".tickets_hidden.csv")
    (inbox / "notes.txt").write_text("not data", encoding="utf-8")
    assert incoming.ingest_folder(inbox, min_age_s=60) == []
    old = time.time() - 120
    os.utime(young, (old, old))
    [o] = incoming.ingest_folder(inbox, min_age_s=60)
    assert o.file == "tickets_copying.csv"
    assert (inbox / "notes.txt").exists() and (inbox / ".tickets_hidden.csv").exists()


def test_pending_runs_take_the_newest_snapshot_per_chain(inbox, tmp_path, small_tickets):
    drop(small_tickets, inbox, "tickets_a.csv")
    changes_head(tmp_path, 0, 60).rename(inbox / "changes_a.csv")
    outcomes = incoming.ingest_folder(inbox)
    runs = {r.chain: r for r in incoming.pending_runs(0)}
    assert set(runs) == {"tickets", "risk"}
    assert runs["risk"].snapshot == next(o.snapshot for o in outcomes if o.kind == "changes")
    assert incoming.pending_runs(incoming.last_seq()) == []
    registry = json.loads((incoming.history_dir() / incoming.REGISTRY).read_text())
    assert [e["seq"] for e in registry["entries"]] == [1, 2]


FORMULA = "=cmd|' /C calc'!A0"


def test_history_csvs_escape_formulas_and_read_back_exactly(inbox, tmp_path):
    """I1: the history CSVs a person may open in a spreadsheet hold no formula cell, quote every cell, keep plain
    numbers (a negative date too) as numbers, and give the pipeline back exactly the cells it stored."""
    from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv
    from riskft_pipeline.core.tickets.generate import generate_tickets, write_tickets_csv
    from riskft_pipeline.core.tickets.io import read_ticket_csv
    from riskft_pipeline_tests.reliability.corpus import formula_cells

    changes = pd.read_csv(CHANGES, dtype=str, keep_default_na=False).iloc[:30].copy()
    changes.loc[0, "message"] = FORMULA
    changes.loc[1, "diff_summary"] = "-2+3+cmd|' /C calc'!A0"
    changes.loc[2, "date"] = "-86400"  # 1969: a plain negative number, valid, must stay a number
    changes.to_csv(inbox / "changes_1.csv", index=False)
    tickets = generate_tickets(40, seed=5).assign(short_description=FORMULA)
    write_tickets_csv(tickets, tmp_path / "t.csv")
    drop(tmp_path / "t.csv", inbox, "tickets_1.csv")
    pd.DataFrame({"number": ["@INC1", "INC2"], "caused_by_change": [changes.loc[3, "_id"], "ffffffffffff"],
                  "short_description": [FORMULA, "'=already escaped by hand"]}).to_csv(
        inbox / "incidents_1.csv", index=False)
    outcomes = incoming.ingest_folder(inbox)
    assert {o.status for o in outcomes} == {"accepted"}

    hist = incoming.history_dir()
    for name in ("changes.csv", "tickets.csv", "incidents.csv", "changes_labelled.csv"):
        data = (hist / name).read_bytes()
        assert formula_cells(data) == [], name
        header, first = data.decode().splitlines()[:2]
        assert header.startswith('"') and first.startswith('"') and first.endswith('"'), f"{name}: cells quoted"

    stored = incoming.read_history(hist / "changes.csv").set_index("_id")
    assert stored.loc[changes.loc[0, "_id"], "message"] == FORMULA, "read back exactly"
    assert stored.loc[changes.loc[1, "_id"], "diff_summary"] == "-2+3+cmd|' /C calc'!A0"
    incidents = incoming.read_history(hist / "incidents.csv")
    assert incidents["number"].tolist() == ["@INC1", "INC2"]
    assert incidents["short_description"].tolist() == [FORMULA, "'=already escaped by hand"]

    chain = clean_changes(read_changes_csv(hist / "changes.csv"), now=2e9)  # what the risk chain reads
    assert chain.summary["clean_rows"] == 30, chain.summary["quarantine_reasons"]
    typed = chain.clean.set_index("_id")
    assert typed.loc[changes.loc[0, "_id"], "message"] == "'" + FORMULA, "comes back as text"
    assert typed.loc[changes.loc[2, "_id"], "date"] == -86400, "a negative number is not escaped"
    expected = changes.set_index("_id")["la"].astype(float)
    assert (typed.loc[expected.index, "la"] == expected).all(), "metrics intact"
    texts = read_ticket_csv(hist / "tickets.csv").df["short_description"]
    assert len(texts) and set(texts) == {"'" + FORMULA}

    pd.DataFrame({"number": ["@INC1"], "caused_by_change": ["ffffffffffff"], "short_description": ["x"]}).to_csv(
        inbox / "incidents_2.csv", index=False)
    [again] = incoming.ingest_folder(inbox)
    assert (again.rows_added, again.rows_duplicate) == (0, 1), "ids compare with what was stored, not the escape"


def test_ragged_incident_rows_are_quarantined_not_the_whole_file(inbox):
    """R1 for incidents: a line with an extra field used to reject the whole file."""
    (inbox / "incidents_1.csv").write_text("number,caused_by_change\nINC1,abcdef1234\nINC2,abcdef9999,extra\n",
                                           encoding="utf-8")
    [o] = incoming.ingest_folder(inbox)
    assert o.status == "accepted" and (o.rows_in, o.rows_added, o.rows_quarantined) == (2, 1, 1)
    assert pd.read_csv(o.quarantine_file, dtype=str)["reason"].tolist() == ["malformed_row"]
    assert list(incoming.read_history(incoming.history_dir() / "incidents.csv").columns) == [
        "number", "caused_by_change"]


def test_a_mined_batch_replaces_the_rows_it_sends_again_other_files_do_not(inbox, tmp_path):
    """A watched repository's batch (``changes-mined-*.csv``) re-sends a change whose label changed: its row replaces
    the stored one; an ordinary export with another label for a known change is a duplicate (first arrival wins)."""
    df = pd.read_csv(CHANGES, dtype=str, keep_default_na=False).iloc[:5]
    df.to_csv(inbox / "changes-mined-repo-aaaa.csv", index=False)
    [first] = incoming.ingest_folder(inbox)
    assert first.rows_added == 5 and first.snapshot
    flipped = df.iloc[[1]].assign(bug=str(1 - int(df.loc[1, "bug"])))
    flipped.to_csv(inbox / "changes_export.csv", index=False)
    [export] = incoming.ingest_folder(inbox)
    assert (export.rows_added, export.rows_updated, export.rows_duplicate) == (0, 0, 1) and not export.snapshot
    assert not incoming.replaces_rows("changes_export.csv", "changes")

    pd.concat([flipped, df.iloc[[2]]]).to_csv(inbox / "changes-mined-repo-bbbb.csv", index=False)
    [mined] = incoming.ingest_folder(inbox)
    assert (mined.rows_added, mined.rows_updated, mined.rows_duplicate) == (0, 1, 1), "an unchanged row is known"
    assert "1 updated" in incoming.summarise([mined]) and mined.snapshot != first.snapshot
    history = incoming.read_history(incoming.history_dir() / "changes.csv")
    assert history["_id"].tolist() == df["_id"].tolist(), "one row per change, in place"
    assert history["bug"].tolist() == [*df["bug"][:1], flipped["bug"].iloc[0], *df["bug"][2:]]
    snap = incoming.read_history(Path(mined.snapshot)).set_index("_id")
    assert snap.loc[df.loc[1, "_id"], "bug"] == flipped["bug"].iloc[0], "the retraining input has the new label"
