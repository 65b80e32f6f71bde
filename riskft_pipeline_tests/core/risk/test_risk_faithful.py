"""The faithfulness checker: every mechanically built justification passes; altered numbers, false claims and
numbers that cannot be tied to a fact are caught."""

from __future__ import annotations

import pytest

from riskft_pipeline.core.risk.faithful import check_faithful
from riskft_pipeline.core.risk.justify import justification
from riskft_pipeline.core.risk.prompts import TIERS, change_description


def test_every_mechanical_justification_is_faithful(split, stats):
    checked = 0
    for row in split.test.to_dict("records"):
        for tier in TIERS:
            text = justification(row, stats, tier)
            result = check_faithful(text, row, stats)
            assert result.ok, (text, result.violations)
            assert result.claims and all(c["ok"] for c in result.claims)
            checked += 1
    assert checked == 3 * len(split.test)


def test_justifications_cite_facts_for_their_tier(split, stats):
    rows = split.test.to_dict("records")
    big = max(rows, key=lambda r: r["la"])
    assert justification(big, stats, "high").startswith(f"+{round(big['la'])}/-")
    for row in rows[:20]:
        for tier in TIERS:
            text = justification(row, stats, tier)
            assert text.endswith("% buggy") and text.count(";") <= 3


def test_the_user_turn_itself_is_faithful(split, stats):
    for row in split.test.head(40).to_dict("records"):
        metrics = change_description({**row, "message": "", "diff_summary": ""}, stats).rstrip(".")
        assert check_faithful(metrics, row, stats).ok, metrics


@pytest.fixture
def row():
    return {"ns": 2, "nd": 4, "nf": 9, "entrophy": 1.234, "la": 412, "ld": 30, "lt": 5000, "fix": 1, "ndev": 14,
            "age": 45.4, "nuc": 120, "exp": 3, "rexp": 1.5, "sexp": 0}


def test_true_claims_in_free_text_pass(row, stats):
    text = ("This is a bug fix that adds 412 lines and deletes 30 lines; it touches 9 files in 4 directories "
            "across 2 subsystems, 14 developers, files 45 days old, entropy 1.23; the author has 3 prior changes.")
    result = check_faithful(text, row, stats)
    assert result.ok, result.violations
    assert {c["field"] for c in result.claims} >= {"la", "ld", "nf", "nd", "ns", "ndev", "age", "entropy", "exp",
                                                    "is a bug fix"}


@pytest.mark.parametrize(
    ("text", "violation"),
    [
        ("+413/-30 lines", "la: claims 413"),
        ("+412/-30 lines (p20)", "la percentile"),
        ("9 files in 5 dirs", "nd: claims 5"),
        ("author: 30 changes", "exp: claims 30"),
        ("similar changes 99% buggy", "similar bug rate"),
        ("not a fix", "is not a bug fix"),
        ("a small change", "small change"),
        ("an experienced author", "experienced author"),
        ("risky: 17 callers depend on it", "unverifiable number '17'"),
        ("touched 3 weeks ago", "unverifiable number '3'"),
        ("p99 size", "unverifiable number '99'"),
        ("", "empty justification"),
    ],
)
def test_false_or_unverifiable_claims_are_caught(row, stats, text, violation):
    result = check_faithful(text, row, stats)
    assert not result.ok
    assert any(violation in v for v in result.violations), result.violations


def test_thousands_separators_and_rounding_are_tolerated(stats):
    row = {"ns": 1, "nd": 1, "nf": 1, "entrophy": 0.0, "la": 1234, "ld": 0, "lt": 10, "fix": 0, "ndev": 1,
           "age": 2.6, "nuc": 1, "exp": 1200.4, "rexp": 0, "sexp": 0}
    assert check_faithful("adds 1,234 lines; author has 1,200 prior changes; files 3 days old", row, stats).ok
    assert not check_faithful("adds 1,235 lines", row, stats).ok


def test_a_model_justification_is_shipped_only_when_faithful(split, stats):
    from riskft_pipeline.core.risk.justify import MODEL, RULE, shipped_justification

    row = split.test.to_dict("records")[0]
    good = justification(row, stats, "low")
    assert shipped_justification(good, row, stats, "low") == (good, MODEL, [])
    wrong = f"{round(row['nf']) + 7} files; similar changes 99% buggy"  # numbers not true of the change
    text, source, violations = shipped_justification(wrong, row, stats, "high")
    assert source == RULE and text == justification(row, stats, "high") and violations
    assert check_faithful(text, row, stats).ok
    assert shipped_justification(None, row, stats, "medium")[1] == RULE  # nothing readable: the rule speaks


def test_the_model_continues_the_answer_of_the_shipped_tier():
    from riskft_pipeline.core.risk.justify import justification_start, read_justification
    from riskft_pipeline.core.risk.prompts import parse_answer

    start = justification_start("medium")
    assert parse_answer(start + 'x"}') == {"risk": "medium", "justification": "x"}
    assert read_justification(start, '3 files (p80); similar changes 20% buggy"}') == (
        "3 files (p80); similar changes 20% buggy")
    assert read_justification(start, "3 files (p80); simil").endswith("simil…")  # cut by the token budget
    assert read_justification(start, '"}') is None
