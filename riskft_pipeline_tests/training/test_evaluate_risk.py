"""Change-risk evaluation end to end with the tiny recipe: prepare → train a few steps → one-pass tier scoring,
justifications checked for faithfulness, baselines on the same rows, and the report shape scripts read."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskft_pipeline.core.config import load_recipe
from riskft_pipeline.core.files import read_jsonl
from riskft_pipeline.core.risk.examples import prepare_risk
from riskft_pipeline.core.risk.generate import generate_changes
from riskft_pipeline.paths import configs_dir
from riskft_pipeline.training.evaluate_risk import METHODS, METRICS, tier_bug_rates, tier_scores


@pytest.fixture(scope="module")
def risk_run(offline_base, tmp_path_factory):
    """80 generated changes → 16 test changes (all scored); 8 balanced training examples, 4 steps."""
    from riskft_pipeline.training.sft import train

    base = tmp_path_factory.mktemp("risk")
    csv = base / "changes.csv"
    generate_changes(rows=80, seed=5).to_csv(csv, index=False)
    recipe = load_recipe(configs_dir() / "risk_tiny.yaml")
    recipe = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"max_test_examples": None})})
    prepare_risk(csv, base / "data", recipe.risk, max_train_examples=recipe.train.max_train_examples,
                 seed=recipe.train.seed)
    train(recipe, base / "data", base / "run", progress=False)
    return {"recipe": recipe, "data": base / "data", "adapter": base / "run" / "adapter", "base": base}


@pytest.mark.slow
def test_evaluate_risk_writes_the_report_scripts_read(risk_run):
    from riskft_pipeline.training.evaluate_risk import evaluate_risk

    out = risk_run["base"] / "eval"
    calls = []  # the progress callback the Dagster asset passes: (stage, done, total)
    report = evaluate_risk(risk_run["adapter"], risk_run["data"], out, recipe=risk_run["recipe"],
                           progress=lambda *call: calls.append(call))
    assert {(s, d, t) for s, d, t in calls if d in (0, t)} == {
        ("score test", 0, 16), ("score test", 16, 16), ("score val", 0, 6), ("score val", 6, 6),
        ("justify", 0, 2), ("justify", 2, 2)}
    assert json.loads((out / "report.json").read_text()) == report
    assert report["n_test"] == 16 and report["full_test_set"] is True
    assert set(report["methods"]) == set(METHODS)
    for method in METHODS:
        for metric in METRICS:
            value = report["methods"][method][metric]
            assert value is None or 0.0 <= value <= 1.0, (method, metric, value)
        assert report["methods"][method]["auc"] is not None
    assert report["shipped"] == "fused"
    assert report["primary_metric"] == {"name": "test_auc", "value": report["methods"]["fused"]["auc"]}
    predictor = report["predictor"]
    assert 0.0 <= predictor["fusion"]["weight"] <= 1.0 and len(predictor["tabular"]["coef"]) == 14
    assert predictor["tier_cuts"] == report["tier_cuts"]
    assert set(report["margins"]["fused_minus_logreg"]) >= {"diff", "lo", "hi"}
    assert "language model" in report["lm_contribution"]
    assert set(report["tier_bug_rates"]) == {"low", "medium", "high"} and sum(report["tier_counts"].values()) == 16
    assert report["n_justified"] == 2 and report["faithful_rate"] is not None
    assert report["shipped_faithful_rate"] == 1.0  # an unfaithful model justification is replaced, never shipped
    assert report["split"]["sizes"] == {"train": 58, "val": 6, "test": 16}
    assert report["tier_definition"]["quantiles"] == [0.5, 0.8]
    assert report["published_anchors"]["lapredict"] == {"qt": 0.744, "openstack": 0.749}

    predictions = read_jsonl(out / "predictions.jsonl")
    assert len(predictions) == 16
    for p in predictions:
        assert p["p_low"] + p["p_medium"] + p["p_high"] == pytest.approx(1.0, abs=1e-5)
        assert p["adapter_score"] == pytest.approx(p["p_high"] + 0.5 * p["p_medium"], abs=1e-5)
        assert {"score_lapredict", "score_logreg", "score_gbm"} <= set(p)
    assert sum("faithful" in p for p in predictions) == 2
    for p in (p for p in predictions if "faithful" in p):  # written for the shipped tier, model's or rule's
        assert p["justification_source"] in ("model", "rule") and p["justification"]
        assert p["generated"].startswith(f'{{"risk": "{p["tier"]}", "justification": "')
    # the shipped score is the fused one, reproducible from the exported predictor alone (what enrichment uses)
    from riskft_pipeline.core.risk.tiers import tiers_from_scores
    from riskft_pipeline.training.evaluate_risk import shipped_scores

    clean = pd.read_parquet(risk_run["data"] / "clean.parquet").set_index("_id")
    frame = clean.loc[[str(p["id"]) for p in predictions]].reset_index()
    fused = shipped_scores(predictor, np.array([p["adapter_score"] for p in predictions]), frame)
    assert [p["score"] for p in predictions] == pytest.approx(fused.tolist(), abs=1e-4)
    assert [p["tier"] for p in predictions] == tiers_from_scores(fused, report["tier_cuts"])
    # review zones: cut on the shipped score's validation values, travel in the predictor, measured on test
    from riskft_pipeline.core.risk.zones import zone_of

    assert predictor["zones"]["n_val"] == 6 and "most_probable_tier" not in report  # one tier definition
    assert [p["zone"] for p in predictions] == zone_of(fused, predictor["zones"])
    # the validation scores the choices were made from are kept, and re-derive the fusion weight
    from riskft_pipeline.core.fusion import choose_score_fusion

    val_rows = read_jsonl(out / "val_scores.jsonl")
    assert len(val_rows) == 6
    again = choose_score_fusion([r["label"] for r in val_rows], np.array([r["adapter_score"] for r in val_rows]),
                                np.array([r["score_logreg"] for r in val_rows]))
    assert again.weight == predictor["fusion"]["weight"]
    assert all(0.0 <= p["percentile"] <= 100.0 for p in predictions)
    top = max(predictions, key=lambda p: p["score"])
    assert top["zone"] != "rest" and top["percentile"] >= max(p["percentile"] for p in predictions)
    capture = report["zones"]["test_capture"]
    assert set(capture) == {"top5", "top10", "top20"}
    flagged = sum(p["zone"] != "rest" for p in predictions)
    assert capture["top20"]["flagged"] == flagged
    assert capture["top20"]["bugs_caught"] == sum(p["label"] for p in predictions if p["zone"] != "rest")
    assert report["methods"]["logreg"]["caught_top20"] is not None or sum(p["label"] for p in predictions) == 0
    assert (out / "roc.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "report.md").read_text()
    assert "| model |" in md and "| lapredict |" in md and "![roc.png](roc.png)" in md
    assert "Review zones" in md and "caught_top20" in md
    card = (risk_run["adapter"] / "README.md").read_text()
    assert "library_name: peft" in card and "| **fused** (shipped) |" in card and str(risk_run["base"]) not in card


def test_score_and_tier_rates_on_a_known_case():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.6, 0.2], [0.5, 0.4, 0.1]])
    np.testing.assert_allclose(tier_scores(probs), [0.2, 0.75, 0.5, 0.3])
    rates, counts = tier_bug_rates(["low", "high", "medium", "low"], [0, 1, 1, 1])
    assert rates == {"low": 0.5, "medium": 1.0, "high": 1.0} and counts == {"low": 2, "medium": 1, "high": 1}
    rates, _ = tier_bug_rates(["low"], [0])
    assert np.isnan(rates["high"])


def test_capped_sample_keeps_both_outcomes():
    from riskft_pipeline.training.evaluate_risk import _cap

    rows = [{"id": str(i), "label": int(i == 17)} for i in range(40)]
    for seed in range(20):
        sample = _cap(rows, 6, seed)
        assert len(sample) == 6 and {r["label"] for r in sample} == {0, 1}
        assert [r["id"] for r in sample] == sorted((r["id"] for r in sample), key=int), "date order kept"


def test_the_report_says_when_the_test_period_fills_the_zones_beyond_chance():
    from riskft_pipeline.training.evaluate_risk import _zones_line

    def report(flagged: dict[str, int], n: int) -> dict:
        capture = {z: {"flagged": k, "flagged_share": k / n, "recall": 0.5, "precision": 0.5} for z, k in flagged.items()}
        return {"n_test": n, "zones": {"test_capture": capture}}

    # mined scrapy: the validation period's cut points put 13% / 19% / 29% of the 1,852 test changes in the zones
    drifted = _zones_line(report({"top5": 246, "top10": 343, "top20": 535}, 1852))
    assert "The test period put more changes in top5, top10, top20 than the validation period did" in drifted
    planned = _zones_line(report({"top5": 95, "top10": 190, "top20": 372}, 1852))
    assert planned.startswith("Review zones") and "The test period put" not in planned
    assert "put fewer changes in top10, top20" in _zones_line(report({"top5": 80, "top10": 130, "top20": 290}, 1852))
