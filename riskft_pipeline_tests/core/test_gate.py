"""The champion gate's decision, pure: no registry, no MLflow (the registry applying it: tracking/test_registry.py)."""

from __future__ import annotations

import pytest

from riskft_pipeline.core.gate import (
    Champion,
    Reevaluation,
    comparison,
    decide,
    json_blocked,
    needs_reevaluation,
)

SPLIT = "a" * 64
OTHER = "b" * 64
METRIC = "mean_field_accuracy"


@pytest.mark.parametrize(
    ("value", "champion", "promote", "words"),
    [
        (0.5, None, True, "no current @champion"),
        (0.81, Champion("3", METRIC, 0.80, SPLIT), True, "beats @champion version 3 (0.8000)"),
        (0.80, Champion("3", METRIC, 0.80, SPLIT), False, "does not beat"),
        (0.79, Champion("3", METRIC, 0.80, SPLIT), False, "does not beat"),
        (0.99, Champion("3", METRIC, 0.80, OTHER), False, "different test split"),
        (0.99, Champion("3", "test_auc", 0.60, SPLIT), False, "not comparable"),
        (0.99, Champion("3", METRIC, None, SPLIT), False, "not comparable"),
    ],
)
def test_decide(value, champion, promote, words):
    promoted, reason = decide((METRIC, value), SPLIT, champion)
    assert promoted is promote
    assert words in reason


def test_decide_lower_is_better_and_valid_json_precondition():
    champion = Champion("1", "brier", 0.20, SPLIT)
    assert decide(("brier", 0.10), SPLIT, champion, higher_is_better=False)[0] is True
    assert decide(("brier", 0.30), SPLIT, champion, higher_is_better=False)[0] is False
    blocked, reason = decide((METRIC, 0.99), SPLIT, None, valid_json_rate=0.80, min_valid_json_rate=0.95)
    assert not blocked and "valid-JSON rate 0.8000 is below the required 0.9500" in reason
    assert not decide((METRIC, 0.99), SPLIT, None, valid_json_rate=None, min_valid_json_rate=0.5)[0]


def test_another_alias_is_named_in_the_reason():
    promoted, reason = decide((METRIC, 0.9), SPLIT, Champion("2", METRIC, 0.5, SPLIT), alias="prod")
    assert promoted and reason.startswith("promoted to @prod:") and "@prod version 2" in reason


@pytest.mark.parametrize(
    ("value", "reevaluation", "promote", "words"),
    [
        (0.60, Reevaluation("3", SPLIT, value=0.50), True, "beats @champion version 3 (0.5000) re-evaluated on this"),
        (0.50, Reevaluation("3", SPLIT, value=0.50), False, "does not beat @champion version 3 (0.5000) re-evaluated"),
        (0.99, Reevaluation("3", SPLIT, error="its artifacts could not be fetched (gone)"), False,
         "could not be re-evaluated on this one: its artifacts could not be fetched (gone); not comparable"),
        (0.99, Reevaluation("2", SPLIT, value=0.1), False, "different test split"),  # another champion's
        (0.99, Reevaluation("3", "c" * 64, value=0.1), False, "different test split"),  # another split's
    ],
)
def test_decide_against_a_reevaluated_champion(value, reevaluation, promote, words):
    champion = Champion("3", METRIC, 0.90, OTHER)  # recorded 0.90 on its own split: not what counts
    promoted, reason = decide((METRIC, value), SPLIT, champion, reevaluation=reevaluation)
    assert promoted is promote
    assert words in reason


@pytest.mark.parametrize(
    ("test_sha", "champion", "needed"),
    [
        (SPLIT, None, False),  # nothing to compare with
        (SPLIT, Champion("1", METRIC, 0.5, SPLIT), False),  # same split: its recorded value counts
        (SPLIT, Champion("1", METRIC, 0.5, OTHER), True),
        (SPLIT, Champion("1", METRIC, 0.5, None), True),  # recorded without a split
        (None, Champion("1", METRIC, 0.5, OTHER), False),  # the candidate's split is unknown
    ],
)
def test_needs_reevaluation(test_sha, champion, needed):
    assert needs_reevaluation(test_sha, champion) is needed


def test_json_blocked_only_with_a_positive_minimum():
    assert not json_blocked(None, 0.0) and not json_blocked(0.1, 0.0)
    assert json_blocked(None, 0.5) and json_blocked(0.49, 0.5) and not json_blocked(0.5, 0.5)


def test_comparison_names_what_was_compared():
    assert comparison(SPLIT, None, None) is None
    same = comparison(SPLIT, Champion("4", METRIC, 0.7, SPLIT), None)
    assert same == {"champion_version": "4", "champion_value": 0.7, "compared_on_test_sha256": SPLIT,
                    "champion_reevaluated": False,
                    "champion_recorded": {"value": 0.7, "test_split_sha256": SPLIT}, "reevaluation": None}
    reeval = comparison(SPLIT, Champion("4", METRIC, 0.7, OTHER), Reevaluation("4", SPLIT, value=0.6))
    assert reeval["champion_value"] == 0.6 and reeval["champion_reevaluated"] is True
    assert reeval["compared_on_test_sha256"] == SPLIT and reeval["reevaluation"]["value"] == 0.6
    failed = comparison(SPLIT, Champion("4", METRIC, 0.7, OTHER), Reevaluation("4", SPLIT, error="gone"))
    assert failed["champion_value"] is None and failed["compared_on_test_sha256"] is None
    assert failed["champion_reevaluated"] is False and failed["reevaluation"]["error"] == "gone"
    assert failed["champion_recorded"] == {"value": 0.7, "test_split_sha256": OTHER}


def test_gate_needs_no_mlflow():
    import subprocess
    import sys

    code = "import sys, riskft_pipeline.core.gate; print('mlflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
