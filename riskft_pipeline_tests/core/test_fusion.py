"""Late fusion, review thresholds, calibration and the paired bootstrap: validation chooses, test only scores."""

from __future__ import annotations

import numpy as np
import pytest

from riskft_pipeline.core import fusion


def _dists(rng, n, k, truth, sharp):
    """Distributions that put ``sharp`` extra mass on ``truth`` (noisy)."""
    p = rng.random((n, k))
    p[np.arange(n), truth] += sharp
    return p / p.sum(axis=1, keepdims=True)


def test_linear_pool_is_a_distribution_between_its_parts():
    a, b = np.array([[0.9, 0.1]]), np.array([[0.2, 0.8]])
    assert fusion.linear_pool(a, b, 1.0) == pytest.approx(a)
    assert fusion.linear_pool(a, b, 0.0) == pytest.approx(b)
    assert fusion.linear_pool(a, b, 0.5) == pytest.approx(np.array([[0.55, 0.45]]))


def test_pool_weight_follows_the_better_part_on_validation():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    good, noise = _dists(rng, 200, 4, y, 2.0), rng.dirichlet(np.ones(4), 200)
    assert fusion.choose_pool_weight(y, good, noise).weight >= 0.5
    assert fusion.choose_pool_weight(y, noise, good).weight <= 0.5


def test_pool_weight_cannot_see_test_labels():
    """The weight is a function of validation data only: changing the test labels changes nothing."""
    rng = np.random.default_rng(1)
    y_val = rng.integers(0, 3, 80)
    pm, pt = _dists(rng, 80, 3, y_val, 0.6), _dists(rng, 80, 3, y_val, 0.4)
    w1 = fusion.choose_pool_weight(y_val, pm, pt)
    y_test_a, y_test_b = rng.integers(0, 3, 50), rng.integers(0, 3, 50)  # never passed: nothing to leak
    assert y_test_a is not y_test_b
    assert fusion.choose_pool_weight(y_val, pm, pt) == w1
    # and a different validation labelling does move it
    flipped = fusion.choose_pool_weight((y_val + 1) % 3, pm, pt)
    assert (flipped.weight, flipped.val_score) != (w1.weight, w1.val_score)


def test_unseen_validation_label_counts_as_wrong_not_as_the_last_class():
    p = np.array([[0.1, 0.9], [0.8, 0.2]])
    choice = fusion.choose_pool_weight([-1, 0], p, p)
    assert choice.val_score == 0.5
    assert choice.val_tiebreak == pytest.approx(-np.log(0.8))  # log-loss over the rows with a known label only


def test_score_fusion_uses_validation_statistics_and_improves_auc_when_both_carry_signal():
    rng = np.random.default_rng(2)
    n = 600
    y = rng.integers(0, 2, n)
    signal = y + rng.normal(0, 1.0, n)
    a = signal + rng.normal(0, 1.0, n)          # two noisy views of the same signal, different scales
    b = 100 * (signal + rng.normal(0, 1.0, n))
    f = fusion.choose_score_fusion(y, a, b)
    assert 0.0 < f.weight < 1.0
    assert f.mean_tab == pytest.approx(b.mean()) and f.sd_model == pytest.approx(a.std())
    fused = f(a, b)
    assert fusion._auc(y, fused) > max(fusion._auc(y, a), fusion._auc(y, b))
    assert fusion.ScoreFusion(**f.to_dict())(a, b) == pytest.approx(fused)


def test_stacked_slopes_match_scikit_learns_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 2))
    y = (x @ np.array([1.5, 0.5]) + rng.logistic(size=400) > 0.3).astype(int)
    ours = fusion.stacked_slopes(y, x)
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(x, y)
    assert ours[1:] == pytest.approx(ref.coef_[0], abs=1e-5) and ours[0] == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_score_fusion_weight_follows_the_signal_and_ignores_noise():
    rng = np.random.default_rng(5)
    n = 800
    y = rng.integers(0, 2, n)
    informative, noise = y + rng.normal(0, 0.8, n), rng.normal(0, 1.0, n)
    assert fusion.choose_score_fusion(y, informative, noise).weight > 0.9
    assert fusion.choose_score_fusion(y, noise, informative).weight < 0.1
    one_class = fusion.choose_score_fusion(np.zeros(n, dtype=int), informative, noise)
    assert one_class.weight == 0.0  # nothing to learn a weight from: the tabular model alone


def test_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    s = np.array([0.1, 0.4, 0.4, 0.4, 0.9, 0.2, 0.9, 0.3])
    assert fusion._auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert np.isnan(fusion._auc(np.zeros(3), s[:3]))


def test_precision_threshold_keeps_the_largest_coverage_at_target():
    conf = [0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.80, 0.70]
    ok = [True, True, True, True, True, True, False, True]
    t = fusion.precision_threshold(conf, ok, target=0.95, min_rows=3)
    assert t.threshold == 0.90 and t.val_precision == 1.0 and t.val_coverage == 0.75
    assert fusion.precision_threshold(conf, [False] * 8).threshold is None
    s = fusion.selective_scores([0.95, 0.5, 0.91], [True, True, False], 0.90)
    assert s == {"coverage": pytest.approx(2 / 3, abs=1e-4), "precision": 0.5, "n_auto": 2}
    assert fusion.selective_scores([0.5], [True], None)["coverage"] == 0.0


def test_precision_threshold_never_splits_tied_confidences():
    t = fusion.precision_threshold([0.9] * 10 + [0.5], [True] * 9 + [False] + [True], target=0.95, min_rows=1)
    assert t.threshold is None  # keeping any 0.9 row keeps all ten: 90% < 95%


def test_expected_calibration_error():
    assert fusion.expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert fusion.expected_calibration_error([0.9, 0.9], [False, False]) == pytest.approx(0.9)
    assert fusion.expected_calibration_error([0.55, 0.55, 0.55, 0.55], [True, True, False, False]) == pytest.approx(
        0.05)


def test_paired_bootstrap_interval_brackets_the_difference():
    y = [1, 0] * 50
    a = y[:]                      # always right
    b = [1 - v if k % 4 == 0 else v for k, v in enumerate(y)]  # wrong on a quarter
    m = fusion.paired_bootstrap(fusion.accuracy_diff(y, a, b), len(y), n_boot=300, seed=0)
    assert m["diff"] == 0.25 and m["lo"] <= 0.25 <= m["hi"] and m["lo"] > 0.1
    same = fusion.paired_bootstrap(fusion.accuracy_diff(y, a, a), len(y), n_boot=50)
    assert same["diff"] == same["lo"] == same["hi"] == 0.0
    auc = fusion.paired_bootstrap(fusion.auc_diff([0, 1, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0]), 4, n_boot=100)
    assert auc["diff"] == 1.0 and auc["n_boot"] < 100  # one-class resamples are dropped, not counted
