"""Baselines on the embedded default and, when present, on the public ISSTA'21 data (same split as the literature)."""

from __future__ import annotations

import numpy as np
import pytest

from riskft_pipeline.core.risk.baselines import BASELINES, effort, fit_baselines
from riskft_pipeline.core.risk.features import clean_changes, read_changes_csv
from riskft_pipeline.core.risk.split import time_split
from riskft_pipeline.paths import embedded_data_dir
from riskft_pipeline_tests.core.risk.risk_rows import SHARED, needs_shared

METRICS = {"auc", "f1", "threshold", "recall_at_20_effort", "effort_at_20_recall", "popt", "caught_top5",
           "caught_top10", "caught_top20"}


def _run(path):
    s = time_split(clean_changes(read_changes_csv(path)).clean)
    return s, *fit_baselines(s.train, s.val, s.test)


def test_baselines_on_the_embedded_default():
    split, results, scores = _run(embedded_data_dir() / "changes.csv")
    assert set(results) == set(BASELINES)
    for name, r in results.items():
        assert set(r) == METRICS
        assert 0.0 <= r["f1"] <= 1.0 and 0.0 <= r["popt"] <= 1.0 and 0.0 <= r["effort_at_20_recall"] <= 1.0
        assert len(scores[name]) == len(split.test) and np.all((scores[name] >= 0) & (scores[name] <= 1))
    assert results["logreg"]["auc"] > 0.72
    assert results["lapredict"]["auc"] > 0.68
    assert results["gbm"]["auc"] > 0.68
    for r in results.values():  # nested zones catch more as they grow, and a ranking model beats chance in each
        assert r["caught_top5"] <= r["caught_top10"] <= r["caught_top20"]
        assert r["caught_top20"] > 0.20


def test_effort_is_lines_added_plus_deleted(split):
    np.testing.assert_array_equal(effort(split.test), (split.test["la"] + split.test["ld"]).to_numpy())


@needs_shared
@pytest.mark.parametrize(("name", "lapredict_auc"), [("openstack", 0.749), ("qt", 0.744)])
def test_baselines_on_public_data_match_the_literature(name, lapredict_auc):
    split, results, _ = _run(SHARED / f"{name}_k_feature.csv")
    assert len(split.train) + len(split.val) == {"openstack": 18205, "qt": 19129}[name]
    assert results["lapredict"]["auc"] == pytest.approx(lapredict_auc, abs=0.005)  # the published LApredict
    assert results["logreg"]["auc"] > 0.70
    assert results["gbm"]["auc"] > 0.70


def test_exported_logreg_scores_exactly_as_the_fitted_baseline():
    """The shipped predictor's tabular half travels as JSON numbers; scored with numpy it equals the baseline."""
    import json

    from riskft_pipeline.core.risk.baselines import fit_logreg, logreg_scores

    split, _, scores = _run(embedded_data_dir() / "changes.csv")
    params = json.loads(json.dumps(fit_logreg(split.train)))
    np.testing.assert_allclose(logreg_scores(params, split.test), scores["logreg"], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="other features"):
        logreg_scores({**params, "features": params["features"][::-1]}, split.test)
