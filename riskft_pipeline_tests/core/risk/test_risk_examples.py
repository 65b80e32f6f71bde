"""The data chain: CSV in, clean rows + quarantine + chat JSONL splits + context out, atomically and reproducibly;
the test file holds every change of the test period even when training is capped."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from riskft_pipeline.core.config import RiskConfig
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import read_jsonl, sha256_file
from riskft_pipeline.core.risk.examples import OUTPUT_FILES, load_context, prepare_risk, sample_training
from riskft_pipeline.core.risk.generate import generate_changes
from riskft_pipeline.core.risk.prompts import ANSWER_PREFIX, METRICS_ONLY, TIERS, PromptText
from riskft_pipeline_tests.core.risk.risk_rows import NOW, change


@pytest.fixture(scope="module")
def raw_csv(tmp_path_factory):
    df = generate_changes(rows=300, seed=11)
    df.insert(3, "__", df["bug"])  # the public data's label copy
    bad = pd.DataFrame([change("neg", la=-1), change("nan-nf", nf="nan")])
    path = tmp_path_factory.mktemp("raw") / "changes.csv"
    pd.concat([df.astype(str), bad]).to_csv(path)  # with an unnamed index column
    return path


@pytest.fixture(scope="module")
def prepared(raw_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("prep") / "data"
    return out, prepare_risk(raw_csv, out, RiskConfig(), max_train_examples=40, seed=5, now=NOW)


def test_writes_every_output_and_a_summary(prepared, raw_csv):
    out, summary = prepared
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert summary == json.loads((out / "summary.json").read_text())
    assert (summary["raw_rows"], summary["clean_rows"], summary["quarantined_rows"]) == (302, 300, 2)
    assert summary["quarantine_reasons"] == {"negative_metric": 1, "nonfinite_metric": 1}
    assert summary["split"]["sizes"] == {"train": 216, "val": 24, "test": 60}
    assert summary["examples"] == {"train": 40, "val": 24, "test": 60}
    assert summary["input_sha256"] == sha256_file(raw_csv)
    assert summary["split_sha256"]["test"] == sha256_file(out / "test.jsonl")
    assert set(summary["split"]["boundaries"]) == {f"{s}_{e}" for s in ("train", "val", "test")
                                                   for e in ("start", "end")}
    assert len(pd.read_csv(out / "quarantine.csv")) == 2


def test_test_file_holds_every_test_period_change(prepared):
    out, summary = prepared
    clean = pd.read_parquet(out / "clean.parquet")
    test_ids = clean.loc[clean["split"] == "test", "_id"].tolist()
    assert [r["id"] for r in read_jsonl(out / "test.jsonl")] == test_ids
    assert len(test_ids) == summary["split"]["sizes"]["test"]


def test_rows_have_the_chat_shape_and_the_label_only_outside_the_prompt(prepared):
    out, _ = prepared
    clean = pd.read_parquet(out / "clean.parquet").set_index("_id")
    assert "__" not in clean.columns
    for row in read_jsonl(out / "val.jsonl"):
        assert set(row) == {"id", "messages", "label", "effort", "tier"}
        system, user, assistant = row["messages"]
        assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
        assert assistant["content"].startswith(ANSWER_PREFIX + row["tier"])
        assert row["tier"] in TIERS and row["label"] == clean.loc[row["id"], "bug"]
        assert row["effort"] == clean.loc[row["id"], "la"] + clean.loc[row["id"], "ld"]
        assert "\nMessage: " in user["content"]


def test_training_sample_is_capped_balanced_and_in_date_order(prepared):
    out, summary = prepared
    train = read_jsonl(out / "train.jsonl")
    assert len(train) == 40 and sum(r["label"] for r in train) == 20
    assert summary["train_examples_bug_rate"] == 0.5
    clean = pd.read_parquet(out / "clean.parquet")
    order = {cid: k for k, cid in enumerate(clean["_id"])}
    assert [order[r["id"]] for r in train] == sorted(order[r["id"]] for r in train)
    assert {order[r["id"]] for r in train} <= set(range(summary["split"]["sizes"]["train"]))


def test_sample_training_without_balance_keeps_the_natural_rate(split):
    sample = sample_training(split.train, max_examples=100, balance=False, seed=1)
    assert len(sample) == 100 and sample["date"].is_monotonic_increasing
    assert len(sample_training(split.train, max_examples=None, balance=False, seed=1)) == len(split.train)


def test_outputs_are_byte_identical_for_the_same_input(raw_csv, prepared, tmp_path):
    out, _ = prepared
    again = tmp_path / "again"
    prepare_risk(raw_csv, again, RiskConfig(), max_train_examples=40, seed=5, now=NOW)
    for name in OUTPUT_FILES:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_context_is_restored_from_the_folder(prepared):
    out, _ = prepared
    stats, tiers = load_context(out)
    assert stats.n_train == 216 and tiers.quantiles == (0.5, 0.8)
    row = read_jsonl(out / "test.jsonl")[0]
    assert row["tier"] in TIERS


def test_a_bad_file_leaves_no_output(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("_id,date\n1,2\n")
    with pytest.raises(InputError, match="missing required column"):
        prepare_risk(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_metrics_only_prompts_leave_the_text_out(raw_csv, tmp_path):
    summary = prepare_risk(raw_csv, tmp_path / "m", RiskConfig(), max_train_examples=20, seed=5, now=NOW,
                           text=METRICS_ONLY)
    assert summary["params"]["include_text"] is False
    assert (summary["params"]["message_chars"], summary["params"]["diff_chars"]) == (0, 0)
    users = [r["messages"][1]["content"] for r in read_jsonl(tmp_path / "m" / "test.jsonl")]
    assert users and not any("Message:" in u or "Diff:" in u for u in users)


def test_text_budgets_are_part_of_the_split_params(raw_csv, tmp_path):
    """Prepared folders are reused only for the recipe that made them: a different text budget makes other splits."""
    summary = prepare_risk(raw_csv, tmp_path / "t", RiskConfig(), max_train_examples=20, seed=5, now=NOW,
                           text=PromptText(message_chars=30, diff_chars=0))
    assert summary["params"]["include_text"] is True
    assert (summary["params"]["message_chars"], summary["params"]["diff_chars"]) == (30, 0)
    users = [r["messages"][1]["content"] for r in read_jsonl(tmp_path / "t" / "test.jsonl")]
    assert any("Message:" in u for u in users) and not any("Diff:" in u for u in users)
    assert all(len(line) <= len("Message: ") + 30 for u in users for line in u.splitlines()[1:])
