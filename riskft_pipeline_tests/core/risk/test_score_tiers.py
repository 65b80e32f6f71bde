"""Predicted tiers from score bands (core.risk.tiers.score_cuts / tiers_from_scores), hand-computed cases."""

import pytest

from riskft_pipeline.core.risk.tiers import score_cuts, tiers_from_scores


def test_cuts_are_the_validation_quantiles_linearly_interpolated():
    cuts = score_cuts([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], (0.5, 0.8))
    assert cuts["low_below"] == pytest.approx(0.5)
    assert cuts["high_from"] == pytest.approx(0.8)
    cuts = score_cuts([4.0, 0.0], (0.5, 0.75))  # unsorted input; 0.5 -> 2.0, 0.75 -> 3.0
    assert (cuts["low_below"], cuts["high_from"]) == (pytest.approx(2.0), pytest.approx(3.0))
    assert cuts["n_val"] == 2 and cuts["quantiles"] == [0.5, 0.75]


def test_tiers_follow_the_cuts_with_the_high_cut_inclusive():
    cuts = {"low_below": 0.3, "high_from": 0.6}
    assert tiers_from_scores([0.0, 0.29, 0.3, 0.59, 0.6, 0.99], cuts) == [
        "low", "low", "medium", "medium", "high", "high"]


def test_every_tier_gets_its_share_when_the_argmax_would_never_say_high():
    # scores whose most probable tier would rarely be "high": bands still give ~50/30/20 on like data
    val = [i / 100 for i in range(100)]
    tiers = tiers_from_scores(val, score_cuts(val, (0.5, 0.8)))
    assert (tiers.count("low"), tiers.count("medium"), tiers.count("high")) == (50, 30, 20)


def test_nan_scores_are_ignored_and_bad_quantiles_refused():
    assert score_cuts([float("nan"), 0.0, 1.0], (0.5, 0.8))["n_val"] == 2
    with pytest.raises(ValueError):
        score_cuts([0.5], (0.5, 0.8))
    with pytest.raises(ValueError):
        score_cuts([0.1, 0.2, 0.3], (0.8, 0.5))
