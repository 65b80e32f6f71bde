"""The split-folder checks the Dagster asset checks call, and the inference text builder."""

from __future__ import annotations

import pandas as pd

from riskft_pipeline.core import files
from riskft_pipeline.core.tickets.checks import pii_findings, split_leakage
from riskft_pipeline.core.tickets.clean import clean_tickets, model_texts
from riskft_pipeline.core.tickets.io import read_ticket_csv
from riskft_pipeline.core.tickets.prepare import prepare
from riskft_pipeline.core.tickets.prompts import build_messages
from riskft_pipeline.core.tickets.redact import Redactor


def _write_splits(folder, texts: dict[str, list[str]]) -> None:
    for name in ("train", "val", "test"):
        rows = [{"id": f"{name}{i}", "messages": build_messages(t, {"type": "Incident"})}
                for i, t in enumerate(texts.get(name, []))]  # fmt: skip
        files.write_jsonl(folder / f"{name}.jsonl", rows)


def test_checks_pass_on_prepared_default_data(default_csv, tmp_path):
    prepare(default_csv, tmp_path / "out")
    assert split_leakage(tmp_path / "out") == 0
    assert pii_findings(tmp_path / "out") == []
    assert pii_findings(tmp_path / "out", raw_csv=default_csv) == []


def test_checks_catch_planted_leaks_and_pii(tmp_path):
    _write_splits(tmp_path, {
        "train": ["Outlook is slow", "Mail anna.smith@example.com"],
        "val": ["OUTLOOK is slow!!"],
        "test": ["Ask Gregory Morgan, +1 312 555 0182"],
    })  # fmt: skip
    assert split_leakage(tmp_path) == 1
    findings = pii_findings(tmp_path)
    assert findings == [
        "train.jsonl:2: 'anna.smith@example.com'",
        "test.jsonl:1: '+1 312 555 0182'",
        "test.jsonl:1: 'Gregory Morgan'",
    ]
    assert len(pii_findings(tmp_path, limit=1)) == 1


def test_model_texts_match_the_training_text(default_csv):
    raw = read_ticket_csv(default_csv).df
    clean = clean_tickets(raw).clean
    by_number = raw.drop_duplicates("number", keep=False).set_index("number")
    rows = by_number.loc[clean["number"][clean["number"].isin(by_number.index)]]
    expected = clean.set_index("number").loc[rows.index, "text"]
    # the cleaner's redactor knows every name in the export; inference gets the same knowledge
    got = model_texts(rows.reset_index(), redactor=Redactor.from_frame(raw))
    assert len(got) > 1000
    assert got.tolist() == expected.tolist()


def test_model_texts_for_new_tickets():
    frame = pd.DataFrame({
        "short_description": ["VPN  down", None],
        "content": ["Call Anna Smith\u00a0 at +1 312 555 0182", " x "],
        "customer": ["Smith, Anna", ""],
    })  # fmt: skip
    assert model_texts(frame).tolist() == ["VPN down\nCall <PERSON> at <PHONE>", "x"]
    assert model_texts(pd.DataFrame({"content": ["only body"]})).tolist() == ["only body"]
