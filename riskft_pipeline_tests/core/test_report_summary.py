"""The closing summary says which baselines the shipped predictor beats and which it loses to."""

from __future__ import annotations

from riskft_pipeline.core.report_summary import baselines_beaten, method_scores, summary_lines

TICKETS = {"shipped": "fused", "primary_metric": {"name": "mean_field_accuracy", "value": 0.70},
           "mean_field_accuracy": {"model": 0.55, "fused": 0.70, "majority": 0.39, "tfidf_lr": 0.68,
                                   "zero_shot": None}}
RISK = {"shipped": "fused", "primary_metric": {"name": "test_auc", "value": 0.76},
        "methods": {"model": {"auc": 0.62}, "fused": {"auc": 0.76}, "lapredict": {"auc": 0.74},
                    "logreg": {"auc": 0.77}, "gbm": {"auc": None}}}


def test_scores_per_method_for_both_report_shapes():
    assert method_scores(TICKETS)["tfidf_lr"] == 0.68 and method_scores(TICKETS)["zero_shot"] is None
    assert method_scores(RISK) == {"model": 0.62, "fused": 0.76, "lapredict": 0.74, "logreg": 0.77, "gbm": None}


def test_a_loss_to_a_baseline_is_said_in_words():
    assert baselines_beaten(TICKETS) == (["majority", "tfidf_lr"], [])
    assert baselines_beaten(RISK) == (["lapredict"], ["logreg"])
    text = "\n".join(summary_lines(RISK, {"model_name": "change-risk", "version": "3", "promoted": True,
                                          "reason": "no champion yet"}))
    assert "LOSES to logreg" in text and "change-risk v3: promoted to champion" in text
    lines = summary_lines(TICKETS)
    assert lines[1].startswith("fused") and "<- shipped" in lines[1]
    assert "beats or ties every baseline" in lines[-1]
