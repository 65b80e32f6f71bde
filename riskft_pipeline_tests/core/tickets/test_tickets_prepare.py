"""prepare(): the whole chain end to end; outputs complete, byte-identical, PII-free, atomic."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from riskft_pipeline.core import files
from riskft_pipeline.core.csvio import escape_formulas
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.tickets import prepare as prepare_module
from riskft_pipeline.core.tickets.io import read_ticket_csv
from riskft_pipeline.core.tickets.prepare import (
    OUTPUT_FILES,
    build_examples,
    clean,
    load_raw,
    prepare,
    write_examples,
    write_prepared,
)
from riskft_pipeline.core.tickets.prompts import FIELDS, parse_answer
from riskft_pipeline.core.tickets.redact import Redactor
from riskft_pipeline.core.tickets.split import assign_splits, split_overlap

SUMMARY_KEYS = {
    "raw_rows", "clean_rows", "quarantined_rows", "quarantine_reasons", "splits", "redactions", "input_sha256",
    "split_sha256", "label_distribution", "encoding", "warnings",
}  # fmt: skip


@pytest.fixture(scope="module")
def prepared_twice(tmp_path_factory, default_csv) -> tuple[Path, Path, dict]:
    a, b = tmp_path_factory.mktemp("a") / "out", tmp_path_factory.mktemp("b") / "out"
    summary = prepare(default_csv, a)
    prepare(default_csv, b)
    return a, b, summary


def test_outputs_are_complete_and_byte_identical(prepared_twice):
    a, b, _ = prepared_twice
    assert sorted(p.name for p in a.iterdir()) == sorted(OUTPUT_FILES)
    for name in OUTPUT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_summary_accounts_for_every_row(prepared_twice, default_csv):
    a, _, summary = prepared_twice
    assert json.loads((a / "summary.json").read_text()) == summary
    assert SUMMARY_KEYS <= set(summary)
    assert summary["raw_rows"] == summary["clean_rows"] + summary["quarantined_rows"]
    assert summary["raw_rows"] == len(read_ticket_csv(default_csv).df)
    assert sum(summary["quarantine_reasons"].values()) == summary["quarantined_rows"]
    assert sum(summary["splits"].values()) == summary["clean_rows"]
    assert summary["input_sha256"] == files.sha256_file(default_csv)
    for name, sha in summary["split_sha256"].items():
        assert files.sha256_file(a / f"{name}.jsonl") == sha
    assert summary["encoding"] == "utf-8"
    assert sum(summary["label_distribution"]["category"].values()) == summary["clean_rows"]
    print(f"\ndefault data: {json.dumps({k: v for k, v in summary.items() if k != 'label_distribution'})}")


def test_jsonl_rows_are_chat_examples(prepared_twice):
    a, _, summary = prepared_twice
    seen_ids = set()
    clean_df = pd.read_parquet(a / "clean.parquet")
    for name in ("train", "val", "test"):
        rows = files.read_jsonl(a / f"{name}.jsonl")
        assert len(rows) == summary["splits"][name]
        for row in rows:
            assert set(row) == {"id", "messages"}
            assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
            answer = parse_answer(row["messages"][2]["content"])
            assert answer is not None and list(answer) == list(FIELDS)
            assert answer["type"] and answer["category"]
            seen_ids.add(row["id"])
    assert seen_ids == set(clean_df["number"])


def test_no_pii_and_no_split_leak_in_the_jsonl(prepared_twice, default_csv):
    a, _, _ = prepared_twice
    raw = read_ticket_csv(default_csv).df
    redactor = Redactor.from_frame(raw)
    texts = {}
    for name in ("train", "val", "test"):
        rows = files.read_jsonl(a / f"{name}.jsonl")
        texts[name] = [r["messages"][1]["content"] for r in rows]
        for row in rows:
            for message in row["messages"][1:]:
                assert redactor.find_pii(message["content"]) == [], message["content"]
    body = "\n".join(t for ts in texts.values() for t in ts)
    assert "@corp.example.com" not in body
    for name in set(raw["customer"]) | set(raw["agent"]):
        last, _, first = name.partition(", ")
        assert f"{first} {last}" not in body
    assert split_overlap(texts) == 0
    clean_df = pd.read_parquet(a / "clean.parquet")
    assert not {"customer", "agent", "close_notes"} & set(clean_df.columns)


def test_quarantine_csv_escapes_formula_cells(prepared_twice):
    a, _, summary = prepared_twice
    with open(a / "quarantine.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == summary["quarantined_rows"]
    cells = [v for row in rows for v in row.values()]
    assert any(v.startswith("'=") for v in cells)  # the generator plants formula cells
    assert not any(v[:1] in ("=", "+", "-", "@") for v in cells)
    assert {row["reason"] for row in rows} == set(summary["quarantine_reasons"])


def test_escape_formulas():
    df = pd.DataFrame({"a": ["=1+1", "+cmd", "-2147467259", "@SUM(A1)", "\t=x", " =x", "ok", "a=b"]})
    assert escape_formulas(df)["a"].tolist() == [
        "'=1+1", "'+cmd", "'-2147467259", "'@SUM(A1)", "'\t=x", "' =x", "ok", "a=b",
    ]  # fmt: skip


def test_steps_compose_like_the_assets(default_csv, tmp_path):
    read = load_raw(default_csv)
    result = clean(read)
    splits = assign_splits(result.clean)
    examples = build_examples(result.clean, splits)
    summary = write_prepared(tmp_path / "out", result, examples, "abc", {"encoding": read.encoding})
    assert summary["input_sha256"] == "abc"
    assert summary["splits"] == {k: len(v) for k, v in examples.items()}
    full = prepare(default_csv, tmp_path / "out2")
    shared_keys = SUMMARY_KEYS - {"input_sha256", "warnings"}
    assert {k: summary[k] for k in shared_keys} == {k: full[k] for k in shared_keys}


def test_failure_leaves_previous_output_intact(default_csv, tmp_path, monkeypatch):
    out = tmp_path / "out"
    prepare(default_csv, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(path, rows):
        raise OSError("disk full")

    monkeypatch.setattr(prepare_module, "write_examples", broken)
    with pytest.raises(OSError, match="disk full"):
        prepare(default_csv, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp directory left behind


def test_unusable_input_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("number,type\n")
    with pytest.raises(InputError):
        prepare(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_tiny_export_with_one_good_row(write_csv, ticket, tmp_path):
    path = write_csv([ticket("INC1"), ticket("INC2", category="")])
    summary = prepare(path, tmp_path / "out")
    assert (summary["raw_rows"], summary["clean_rows"], summary["quarantined_rows"]) == (2, 1, 1)
    assert sum(summary["splits"].values()) == 1


def test_fast_jsonl_writer_is_byte_identical_to_the_generic_one(tmp_path):
    rows = [
        {"id": "INC1", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": 'é "q" \\ \n\t☕'},
                                    {"role": "assistant", "content": '{"type":null}'}]},
        {"id": 7, "messages": [{"role": "user", "content": "no system turn"}]},
        {"id": "odd", "extra": 1, "messages": []},
        {"id": "INC2", "messages": [{"content": "keys in another order", "role": "user"}]},
    ]  # fmt: skip
    write_examples(tmp_path / "fast.jsonl", rows)
    files.write_jsonl(tmp_path / "slow.jsonl", rows)
    assert (tmp_path / "fast.jsonl").read_bytes() == (tmp_path / "slow.jsonl").read_bytes()
