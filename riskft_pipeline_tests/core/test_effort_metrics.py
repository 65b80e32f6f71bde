"""Ranking and effort-aware metrics against cases computed by hand (the definitions of JITLine / JIT-Fine and
Kamei et al.'s Popt)."""

from __future__ import annotations

import math

import pytest

from riskft_pipeline.core.metrics import best_threshold, effort_metrics, f1_at_threshold, roc_auc


def test_roc_auc_counts_correctly_ordered_pairs():
    # pairs (bug, clean): (.35,.1) ok, (.35,.4) wrong, (.8,.1) ok, (.8,.4) ok -> 3/4
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts half
    assert roc_auc([1, 0], [0.9, 0.1]) == 1.0
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))  # one class: undefined


def test_threshold_is_chosen_for_f1_and_applied_as_score_at_least_threshold():
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    # thresholds: .1 -> F1 2/3; .35 -> P 2/3, R 1 -> F1 .8; .4 -> .5; .8 -> 2/3
    assert best_threshold(y, s) == pytest.approx(0.35)
    assert f1_at_threshold(y, s, 0.35) == pytest.approx(0.8)
    assert f1_at_threshold(y, s, 0.9) == 0.0


def test_effort_metrics_equal_effort():
    # four changes of 10 lines each, inspected in score order 0,1,2,3: effort shares .25,.5,.75,1; recall .5,.5,1,1
    m = effort_metrics([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1], [10, 10, 10, 10])
    assert m["recall_at_20_effort"] == 0.0  # the first change already costs 25% of the effort
    assert m["effort_at_20_recall"] == pytest.approx(0.25)
    # areas: optimal (bugs first) .75, model .625, worst (clean first) .25 -> 1 - .125/.5
    assert m["popt"] == pytest.approx(0.75)


def test_effort_metrics_rank_by_predicted_density_score_over_effort():
    y, score, effort = [1, 0, 0, 1], [0.5, 0.5, 0.2, 0.4], [50, 5, 20, 25]
    # density .01, .1, .01, .016 -> order 1, 3, then 2 before 0 (equal density: smaller effort first)
    # effort shares .05, .30, .50, 1.0; recall 0, .5, .5, 1
    m = effort_metrics(y, score, effort)
    assert m["recall_at_20_effort"] == 0.0
    assert m["effort_at_20_recall"] == pytest.approx(0.30)
    # areas: optimal .6875, model .5375, worst .3125 -> 1 - .15/.375
    assert m["popt"] == pytest.approx(0.6)


def test_effort_metrics_of_a_perfect_ranking():
    y, effort = [0, 1, 0, 1, 0], [40, 5, 30, 15, 10]
    m = effort_metrics(y, [0.1, 0.9, 0.2, 0.8, 0.3], effort)
    # bugs first by density: change 1 (5 lines = 5%) then change 3 (15 lines = 15%): 20% effort finds every bug
    assert m["recall_at_20_effort"] == 1.0
    assert m["effort_at_20_recall"] == pytest.approx(0.05)
    assert m["popt"] == pytest.approx(1.0)


def test_effort_metrics_undefined_without_bugs_or_effort():
    assert all(math.isnan(v) for v in effort_metrics([0, 0], [0.1, 0.2], [3, 4]).values())
    assert all(math.isnan(v) for v in effort_metrics([1, 0], [0.1, 0.2], [0, 0]).values())
