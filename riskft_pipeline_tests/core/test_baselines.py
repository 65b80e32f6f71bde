"""Baselines against hand-computed cases: majority class (ties, None as a class) and TF-IDF + logistic regression
(learns a separable toy task; degrades to the majority answer with one class)."""

from __future__ import annotations

from riskft_pipeline.core.baselines import majority_baseline, tfidf_lr_baseline, tfidf_lr_fields


def test_majority_is_the_most_frequent_label():
    assert majority_baseline(["a", "b", "b", "c"], 3) == ["b", "b", "b"]


def test_majority_counts_none_as_a_class():
    assert majority_baseline([None, "x", None, float("nan")], 2) == [None, None]


def test_majority_tie_goes_to_the_label_seen_first():
    assert majority_baseline(["b", "a", "a", "b"], 1) == ["b"]


def test_majority_of_nothing_is_none():
    assert majority_baseline([], 2) == [None, None]


def test_tfidf_lr_learns_a_separable_task():
    texts = ["printer jam paper", "printer out of toner", "printer offline", "vpn cannot connect",
             "vpn drops every hour", "vpn token expired"]
    labels = ["HARDWARE", "HARDWARE", "HARDWARE", "NETWORK", "NETWORK", "NETWORK"]
    assert tfidf_lr_baseline(texts, labels, ["the printer jammed", "vpn connection fails"]) == ["HARDWARE", "NETWORK"]


def test_tfidf_lr_predicts_none_where_training_label_was_missing():
    texts = ["outlook crash", "outlook crashes again", "reset my password", "password reset please"]
    labels = ["DESK", "DESK", None, None]
    assert tfidf_lr_baseline(texts, labels, ["outlook crash today", "please reset password"]) == ["DESK", None]


def test_tfidf_lr_with_a_single_class_returns_it():
    assert tfidf_lr_baseline(["a b", "c d"], ["X", "X"], ["e", "f", "g"]) == ["X", "X", "X"]
    assert tfidf_lr_baseline(["a b", "c d"], [None, None], ["e"]) == [None]


def test_tfidf_lr_with_no_test_texts_returns_nothing():
    assert tfidf_lr_baseline(["a", "b"], ["X", "Y"], []) == []


def test_tfidf_lr_fields_fits_each_label_on_shared_features():
    texts = ["printer jam", "printer toner", "vpn down", "vpn token"]
    labels = {"group": ["HW", "HW", "NET", "NET"], "type": ["Incident"] * 4, "empty": [None] * 4}
    out = tfidf_lr_fields(texts, labels, ["printer broken", "vpn slow"])
    assert out == {"group": ["HW", "NET"], "type": ["Incident", "Incident"], "empty": [None, None]}
    assert all(type(v) is str for v in out["group"])  # plain str, not numpy strings, in JSON reports
