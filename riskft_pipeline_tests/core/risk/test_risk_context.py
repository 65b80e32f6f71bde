"""Training-period context: fitted on train only, applied unchanged to later changes, serialisable to JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.risk.context import HistoryStats, RateTable, fit_history
from riskft_pipeline.core.risk.features import COUNT_FEATURES


def test_statistics_depend_on_the_training_split_only(split, stats):
    # changing every later change (val and test) must not move any statistic
    later = pd.concat([split.val, split.test]).assign(la=10**6, bug=1)
    again = fit_history(split.train)
    assert again.to_dict() == stats.to_dict()
    assert fit_history(pd.concat([split.train, later])).quantiles["la"] != stats.quantiles["la"]
    assert stats.n_train == len(split.train)
    assert stats.base_rate == pytest.approx(split.train["bug"].mean())


def test_percentiles_are_those_of_the_training_period(split, stats):
    la = split.train["la"].to_numpy()
    for value in (0, 5, 40, 300, 10**6):
        below, at_most = (la < value).mean(), (la <= value).mean()
        assert stats.share_below("la", value) == pytest.approx(below, abs=0.01)
        assert stats.share_at_most("la", value) == pytest.approx(at_most, abs=0.01)
        assert stats.percentile("la", value) == pytest.approx(50 * (below + at_most), abs=1.0)
        assert stats.top_share("la", value) == pytest.approx(100 * (1 - below), abs=1.0)
    assert stats.percentile("la", 10**6) == 100.0 and stats.percentile("la", -1) == 0.0
    assert set(stats.quantiles) == set(COUNT_FEATURES)


def test_ties_get_a_mid_rank_percentile():
    train = pd.DataFrame({f: np.ones(100) for f in COUNT_FEATURES}).assign(fix=0, bug=[0, 1] * 50)
    train.loc[:19, "ns"] = 2  # 80% of changes touch one subsystem, 20% two
    stats = fit_history(train)
    assert stats.percentile("ns", 1) == pytest.approx(40, abs=1)
    assert stats.percentile("ns", 2) == pytest.approx(90, abs=1)


def test_rate_tables_give_training_bug_rates_per_bucket():
    values = np.arange(100, dtype=float)
    bug = (values >= 50).astype(float)
    table = RateTable.fit(values, bug, buckets=4)
    assert table.counts == [25, 25, 25, 25]
    assert table.rates == [0.0, 0.0, 1.0, 1.0]
    assert table.rate(np.array([-5.0, 60.0, 500.0])).tolist() == [0.0, 1.0, 1.0]


def test_similar_change_rate_rises_with_the_risk_profile(split, stats):
    score = stats.profile_score(split.test)
    rate = stats.similar_rate(split.test)
    assert np.corrcoef(score, rate)[0, 1] > 0.8
    row = split.test.iloc[3].to_dict()
    assert stats.similar_rate_row(row) == pytest.approx(rate[3])


def test_json_round_trip(stats, split):
    back = HistoryStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert back.to_dict() == stats.to_dict()
    np.testing.assert_allclose(back.profile_score(split.test), stats.profile_score(split.test))


def test_a_training_period_without_bugs_is_refused(split):
    with pytest.raises(InputError, match="only clean changes"):
        fit_history(split.train.assign(bug=0))
