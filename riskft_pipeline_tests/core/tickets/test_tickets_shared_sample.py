"""The chain on real data nobody here wrote: ../shared's public sample (skipped only when ../shared is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskft_pipeline.core import files
from riskft_pipeline.core.tickets.generate import COLUMNS, INDEX_COLUMN
from riskft_pipeline.core.tickets.io import read_ticket_csv
from riskft_pipeline.core.tickets.prepare import prepare
from riskft_pipeline.core.tickets.redact import Redactor
from riskft_pipeline.core.tickets.split import split_overlap
from riskft_pipeline.paths import shared_data_dir

SAMPLE = (
    (shared_data_dir() or Path("/nonexistent")) / "tickets" / "synthetic-it-call-center-tickets-sample.csv"
)
pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason="../shared sample absent")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("shared") / "out"
    return out, prepare(SAMPLE, out)


def test_counts_on_the_shared_sample(prepared):
    _, summary = prepared
    print(
        "\nshared sample: raw {raw_rows}, clean {clean_rows}, quarantined {quarantined_rows} {quarantine_reasons}; "
        "redactions {redactions}; splits {splits}".format(**summary)
    )
    assert summary["raw_rows"] == 700 == summary["clean_rows"] + summary["quarantined_rows"]
    # the sample's known defect: a few ticket numbers repeat with different content
    assert summary["quarantine_reasons"].get("duplicate ticket number", 0) >= 10
    assert summary["redactions"]["email"] >= 4 and summary["redactions"]["person"] >= 8
    assert min(summary["splits"].values()) > 30


def test_no_pii_and_no_leak_on_the_shared_sample(prepared):
    out, _ = prepared
    raw = read_ticket_csv(SAMPLE).df
    redactor = Redactor.from_frame(raw)
    texts = {}
    for name in ("train", "val", "test"):
        rows = files.read_jsonl(out / f"{name}.jsonl")
        texts[name] = [r["messages"][1]["content"] for r in rows]
        for row in rows:
            assert redactor.find_pii(json.dumps(row, ensure_ascii=False)) == []
    body = "\n".join(t for ts in texts.values() for t in ts)
    for needle in ("Anna Smith", "Michael Williams", "encon.com", "jacob.hall", "Priya Sharma"):
        assert needle not in body
    for needed in ("0x0000007F", "ORA-12154", "PostgreSQL", "127.0.0.1:3306", "-2147467259"):
        assert needed in body, needed
    assert split_overlap(texts) == 0


def test_generator_writes_the_same_columns_as_the_sample():
    header = SAMPLE.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [INDEX_COLUMN, *COLUMNS]
