"""Classification and free-text metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskft_pipeline.core.metrics import (
    NULL,
    accuracy,
    confusion,
    exact_match,
    field_scores,
    macro_f1,
    token_f1,
)


def test_accuracy_counts_none_as_a_label():
    assert accuracy(["a", "b", None, "c"], ["a", "x", None, None]) == 0.5


def test_accuracy_rejects_length_mismatch_and_is_nan_when_empty():
    with pytest.raises(ValueError):
        accuracy(["a"], ["a", "b"])
    assert math.isnan(accuracy([], []))


def test_macro_f1_by_hand():
    # true a a b c ; pred a b b a
    # a: tp1 fp1 fn1 -> 0.5 ; b: tp1 fp1 fn0 -> p.5 r1 -> 2/3 ; c: tp0 -> 0 ; mean = (0.5 + 2/3 + 0) / 3
    assert macro_f1(["a", "a", "b", "c"], ["a", "b", "b", "a"]) == pytest.approx((0.5 + 2 / 3) / 3)


def test_macro_f1_averages_only_true_classes():
    # "z" is only ever predicted: it is not averaged in, but its false positive costs "a" recall
    # a: tp1 fp0 fn1 -> p1 r.5 -> 2/3 ; b: 1 -> mean 5/6
    assert macro_f1(["a", "a", "b"], ["a", "z", "b"]) == pytest.approx(5 / 6)


def test_macro_f1_none_is_a_class():
    assert macro_f1([None, None, "a"], [None, "a", "a"]) == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_exact_match_normalises_case_space_and_punctuation():
    assert exact_match(["Outlook Crash", "SAP  ERP", "Zoom"], ["outlook crash!", "sap erp", "Teams"]) == pytest.approx(2 / 3)
    assert exact_match([None], [""]) == 1.0


def test_token_f1_by_hand():
    # "sap erp login" vs "sap login": common 2, p=1, r=2/3 -> 0.8 ; "" vs "" -> 1 ; "a" vs "" -> 0
    assert token_f1(["SAP ERP login", None, "a"], ["sap login", "", None]) == pytest.approx((0.8 + 1 + 0) / 3)


def test_field_scores_adds_text_metrics_for_free_text_only():
    assert set(field_scores(["a"], ["a"])) == {"accuracy", "macro_f1"}
    scores = field_scores(["Outlook"], ["outlook"], free_text=True)
    assert scores == {"accuracy": 0.0, "macro_f1": 0.0, "exact_match": 1.0, "token_f1": 1.0}


def test_confusion_by_hand():
    labels, m = confusion(["a", "a", "b", None], ["a", "b", "b", "a"])
    assert labels == ["a", "b", NULL]
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 0]])


def test_confusion_folds_rare_labels_into_other():
    labels, m = confusion(["a", "a", "a", "b", "c"], ["a", "a", "c", "b", "z"], top_k=1)
    assert labels == ["a", "(other)"]
    np.testing.assert_array_equal(m, [[2, 1], [0, 2]])
    assert m.sum() == 5
