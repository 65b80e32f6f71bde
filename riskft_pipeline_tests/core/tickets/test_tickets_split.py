"""Splits: deterministic, append-stable, grouped (near-duplicates never cross), rare classes in train."""

from __future__ import annotations

import pandas as pd
import pytest

from riskft_pipeline.core.tickets.clean import clean_tickets
from riskft_pipeline.core.tickets.io import read_ticket_csv
from riskft_pipeline.core.tickets.split import assign_splits, group_ids, near_dup_key, split_overlap

SYSTEMS = ["Outlook", "Zoom", "Slack", "Tableau", "Jenkins", "Okta", "SAP", "Workday", "Jira", "Excel"]
PROBLEMS = [
    "crashes on start",
    "is very slow",
    "shows a login error",
    "cannot sync files",
    "freezes when saving",
]
PLACES = ["Berlin", "Chicago", "Pune", "Madrid", "Toronto", "Leeds"]


def _frame(n: int, start: int = 0) -> pd.DataFrame:
    """Distinct tickets (different letters, not just digits) with a common category."""
    rows = []
    for i in range(start, start + n):
        system, problem = SYSTEMS[i % 10], PROBLEMS[(i // 10) % 5]
        place = PLACES[(i // 50) % 6]
        rows.append({
            "number": f"INC{i:06d}", "text": f"{system} {problem}\nOffice {place}, case {'x' * (i // 300 + 1)}",
            "category": "SOFTWARE", "subcategory": "ERROR",
        })  # fmt: skip
    return pd.DataFrame(rows)


def test_deterministic_and_roughly_proportional():
    df = _frame(1800)
    a, b = assign_splits(df), assign_splits(df.copy())
    assert a.equals(b)
    counts = a.value_counts(normalize=True)
    assert 0.72 < counts["train"] < 0.88 and 0.05 < counts["val"] < 0.15 and 0.05 < counts["test"] < 0.15
    assert set(a) == {"train", "val", "test"}
    assert not assign_splits(df, seed=14).equals(a)


def test_independent_of_row_order():
    df = _frame(600)
    shuffled = df.sample(frac=1.0, random_state=1)
    assert assign_splits(shuffled).sort_index().equals(assign_splits(df))


def test_stable_when_rows_are_appended():
    old = _frame(900)
    grown = pd.concat([old, _frame(900, start=900)], ignore_index=True)
    before = assign_splits(old)
    after = assign_splits(grown).iloc[: len(old)]
    assert (before.to_numpy() == after.to_numpy()).all()


def test_near_duplicates_share_a_split():
    df = pd.DataFrame({
        "number": [f"N{i}" for i in range(8)],
        "text": [
            "VPN drops every 5 minutes\nError 0x80070005 on host-7",
            "vpn drops every 12 minutes!\nerror 0x80070006 on HOST 9",   # same letters: digits/case/punct differ
            "Different subject line\nError 0x80070005 on host-7",        # same body, other subject
            "Different subject line\nA completely different body",       # same subject as the previous one only
            "Printer jam on floor 3", "Printer jam on floor 4", "Outlook is slow", "Outlook is slow",
        ],
        "category": ["SOFTWARE"] * 8, "subcategory": ["ERROR"] * 8,
    })  # fmt: skip
    groups = group_ids(df["text"])
    assert groups[0] == groups[1] == groups[2]  # chained through the shared body
    assert groups[3] != groups[0]
    assert groups[4] == groups[5] and groups[6] == groups[7]
    for seed in range(30):
        splits = assign_splits(df, seed=seed, val_fraction=0.3, test_fraction=0.3, min_count=0)
        assert splits[0] == splits[1] == splits[2]
        assert splits[4] == splits[5] and splits[6] == splits[7]
        by_split = {name: df["text"][splits == name].tolist() for name in ("train", "val", "test")}
        assert split_overlap(by_split) == 0


def test_split_overlap_counts_leaks():
    assert (
        split_overlap({"train": ["Outlook is slow", "VPN down"], "test": ["outlook is SLOW!!", "Zoom"]}) == 1
    )
    assert split_overlap({"train": ["a\nsame body"], "val": ["b\nsame body"], "test": ["c"]}) == 1
    assert split_overlap({"train": ["a"], "val": ["b"], "test": ["c"]}) == 0


def test_near_dup_key_ignores_case_digits_punctuation_and_placeholders():
    keys = near_dup_key(pd.Series(["Call <PERSON> at 10:30!", "call person at 11:45", "Call Anna at 10:30"]))
    assert keys[0] == keys[1] == "call person at"
    assert keys[2] != keys[0]


def test_rare_categories_go_to_train():
    df = _frame(600)
    df.loc[[5, 77, 300], "category"] = ["PRINTER", "PRINTER", "NETWORK"]
    df.loc[[10], "subcategory"] = ["TRAINING"]
    for seed in range(20):
        splits = assign_splits(df, seed=seed)
        assert (splits[[5, 77, 300, 10]] == "train").all()
    # at the threshold a class is no longer rare and follows its hash
    df.loc[[5, 77, 300], "category"] = "PRINTER"
    assert any((assign_splits(df, seed=s)[[5, 77, 300]] != "train").any() for s in range(20))


def test_invalid_fractions_are_refused():
    with pytest.raises(ValueError, match="fractions"):
        assign_splits(_frame(10), val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="fractions"):
        assign_splits(_frame(10), val_fraction=-0.1)


def test_zero_fractions_put_everything_in_train():
    assert set(assign_splits(_frame(50), val_fraction=0, test_fraction=0)) == {"train"}


def test_default_data_splits_without_leaks(default_csv):
    read = read_ticket_csv(default_csv)
    clean = clean_tickets(read.df, bad_rows=read.bad_rows).clean
    splits = assign_splits(clean)
    by_split = {name: clean["text"][splits == name].tolist() for name in ("train", "val", "test")}
    assert split_overlap(by_split) == 0
    assert all(len(texts) > 50 for texts in by_split.values())
    train_categories = set(clean["category"][splits == "train"])
    assert train_categories == set(clean["category"])  # every category is seen in training


def test_non_latin_texts_are_not_lumped_together():
    texts = pd.Series(
        ["Принтер не работает", "Почта не отправляется", "打印机坏了", "邮件无法发送", "VPN down"]
    )
    assert group_ids(texts).nunique() == 5
    assert near_dup_key(pd.Series(["Принтер НЕ работает!! 3"]))[0] == "принтер не работает"
