"""Evaluation writes every output with the report shape scripts read; the report logic is checked on a known
answer."""

from __future__ import annotations

import json

import pytest

from riskft_pipeline.core.files import read_jsonl
from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS, FIELDS, FREE_TEXT_FIELDS, user_text
from riskft_pipeline.training.evaluate import (
    BASELINES,
    beats,
    build_report,
    evaluate_tickets,
    render_markdown,
    system_names,
)
from riskft_pipeline.training.sft import read_split


def test_evaluation_writes_all_outputs_with_the_report_shape(trained, chat_data, tiny_recipe, tmp_path):
    out = tmp_path / "eval"
    calls = []  # the progress callback the Dagster asset passes: (stage, done, total)
    report = evaluate_tickets(trained["out"] / "adapter", chat_data, out,
                              progress=lambda *call: calls.append(call))
    n = min(4, tiny_recipe.eval.max_test_examples)
    assert report["n_test"] == n
    for name, total in (("score test", n), ("score val", report["n_val"]), ("zero-shot test", n)):
        done = [d for s, d, t in calls if s == name and t == total]
        assert done[0] == 0 and done[-1] == total and done == sorted(done), (name, done)
    assert json.loads((out / "report.json").read_text()) == report
    for f in FIELDS:
        for method in ("model", "fused", *BASELINES):
            scores = report["fields"][f][method]
            assert 0.0 <= scores["accuracy"] <= 1.0 and 0.0 <= scores["macro_f1"] <= 1.0
            assert ("exact_match" in scores) == (f in FREE_TEXT_FIELDS) == ("token_f1" in scores)
        assert set(report["beats"][f]) == set(BASELINES)
    assert report["valid_json_rate"] == 1.0  # the answer JSON is assembled by code
    assert 0.0 <= report["zero_shot_valid_json_rate"] <= 1.0
    assert report["primary_metric"]["name"] == "mean_field_accuracy" and report["shipped"] == "fused"
    assert report["primary_metric"]["value"] == pytest.approx(
        sum(report["fields"][f]["fused"]["accuracy"] for f in FIELDS) / len(FIELDS))
    assert report["timing"]["model"]["score_s"] > 0 and report["timing"]["zero_shot"]["generate_s"] > 0
    predictor = json.loads((out / "predictor.json").read_text())
    assert set(predictor["fields"]) == set(CATEGORICAL_FIELDS)
    for f, spec in predictor["fields"].items():
        assert 0.0 <= spec["weight"] <= 1.0 and spec["labels"] and spec["length_power"] in (0.0, 0.5, 1.0)
        assert set(report["margins"]["fused_minus_tfidf_lr"][f]) >= {"diff", "lo", "hi"}
        assert 0.0 <= report["review"][f]["coverage"] <= 1.0
    assert "language model" in report["lm_contribution"]

    predictions = read_jsonl(out / "predictions.jsonl")
    assert len(predictions) == n
    assert {"id", "expected", "predicted", "adapter_predicted", "confidence", "raw", "zero_shot_raw"} <= set(
        predictions[0])
    assert predictions[0]["expected"]["software_system"]
    for p in predictions:  # categorical answers are training labels, never invented text
        for f in CATEGORICAL_FIELDS:
            assert p["predicted"][f] in predictor["fields"][f]["labels"]
            assert p["adapter_predicted"][f] in predictor["fields"][f]["labels"]
    # software_system: chosen among the generated value and the training systems the ticket names
    assert predictor["system_choice"] == "grounded"
    names = system_names(read_split(chat_data / "train.jsonl"))
    test_rows = {r["id"]: r for r in read_split(chat_data / "test.jsonl")}
    for p in predictions:
        text = user_text(test_rows[p["id"]]["messages"][:-1])
        assert p["predicted"]["software_system"] in names.candidates(text, p["software_system_generated"])
        assert p["predicted"]["software_system"] == p["adapter_predicted"]["software_system"]
    for name in ("report.md", "confusion_category.png", "confusion_subcategory.png", "field_accuracy.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "confusion_category.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "report.md").read_text()
    assert "| software_system | accuracy |" in md and "![confusion_category.png]" in md
    assert "## Shipped predictor, field by field" in md
    assert not list(out.glob(".*.tmp"))
    card = (trained["out"] / "adapter" / "README.md").read_text()  # the model card now carries the results
    assert "## Evaluation" in card and f"| **fused** (shipped) | {report['primary_metric']['value']:.4f} |" in card


def _answers(values: list[tuple]) -> list[dict]:
    return [dict(zip(FIELDS, v)) for v in values]


def test_report_on_a_known_answer():
    expected = _answers([
        ("Incident", "SOFTWARE", "ERROR", "DESK", "Outlook", "Outlook Crash"),
        ("Request", "SOFTWARE", "INSTALL", None, "Zoom", "Zoom Install"),
        ("Incident", "ACCOUNT", "ACCESS", "IAM", "SAP", "SAP Login"),
        ("Incident", "SOFTWARE", "ERROR", "DESK", "Slack", "Slack Error"),
    ])  # fmt: skip
    model = {f: [e[f] for e in expected] for f in FIELDS}
    model["subcategory"] = ["ERROR", "INSTALL", "ERROR", "ERROR"]  # one miss
    model["issue_request"] = ["outlook crash", "Zoom install!", "SAP", None]  # normalised matches, partial tokens
    majority = {f: [expected[0][f]] * 4 for f in FIELDS}
    report = build_report(expected, {"model": model, "majority": majority, "tfidf_lr": model, "zero_shot": None},
                          {"model": 0.75, "zero_shot": None}, {})
    fields = report["fields"]
    assert fields["type"]["model"] == {"accuracy": 1.0, "macro_f1": 1.0}
    assert fields["type"]["majority"]["accuracy"] == 0.75
    assert fields["subcategory"]["model"]["accuracy"] == 0.75
    # subcategory F1: ERROR p=2/3 r=1 -> 0.8; INSTALL 1.0; ACCESS 0 -> mean 0.6
    assert fields["subcategory"]["model"]["macro_f1"] == pytest.approx(0.6)
    ir = fields["issue_request"]["model"]
    assert ir["accuracy"] == 0.0 and ir["exact_match"] == 0.5
    # token F1: 1, 1, 2*(1*0.5)/(1.5)=2/3, 0 -> mean 2/3 / ... = (1 + 1 + 2/3 + 0) / 4
    assert ir["token_f1"] == pytest.approx((2 + 2 / 3) / 4)
    assert fields["issue_request"]["zero_shot"] is None
    assert report["beats"]["type"] == {"majority": True, "tfidf_lr": False, "zero_shot": None}
    assert report["valid_json_rate"] == 0.75 and report["n_test"] == 4
    mean = (1 + 1 + 0.75 + 1 + 1 + 0) / 6
    assert report["primary_metric"]["value"] == pytest.approx(mean)
    md = render_markdown(report, [])
    assert "| field | metric | model | majority | tfidf_lr | model beats |" in md  # no zero-shot column
    assert "| subcategory | accuracy | 0.750 | 0.500 | 0.750 | majority |" in md


def test_beats_needs_accuracy_at_least_and_something_strictly_better():
    assert beats({"accuracy": 0.8, "macro_f1": 0.5}, {"accuracy": 0.7, "macro_f1": 0.6})
    assert beats({"accuracy": 0.8, "macro_f1": 0.6}, {"accuracy": 0.8, "macro_f1": 0.5})
    assert not beats({"accuracy": 0.8, "macro_f1": 0.5}, {"accuracy": 0.8, "macro_f1": 0.5})
    assert not beats({"accuracy": 0.7, "macro_f1": 0.9}, {"accuracy": 0.8, "macro_f1": 0.5})
    assert beats({"accuracy": 0.7, "macro_f1": 0.9}, None) is None


def test_length_power_is_chosen_per_field_on_validation_labels():
    import numpy as np

    from riskft_pipeline.training.choose import ChosenAnswer
    from riskft_pipeline.training.evaluate import adapter_answers, choose_length_power

    # null: 2 tokens, log-prob -3; a long label: 8 tokens, log-prob -5. Sums prefer null, per-token the label.
    lp, n = np.array([-3.0, -5.0]), np.array([2.0, 8.0])
    c = ChosenAnswer(answer={"assignment_group": None}, distributions={"assignment_group": np.exp(lp) / np.exp(lp).sum()},
                     free_text_raw="", free_text_parsed=True, logprobs={"assignment_group": lp},
                     n_tokens={"assignment_group": n})
    assert choose_length_power([c] * 3, "assignment_group", [1, 1, 1], 2) == 0.5  # ties with 1.0: the smaller
    assert choose_length_power([c] * 3, "assignment_group", [0, 0, 0], 2) == 0.0
    predictor = {"fields": {"assignment_group": {"labels": [None, "TIER 2 TEAM"], "length_power": 0.5}}}
    assert adapter_answers(predictor, [c])[0]["assignment_group"] == "TIER 2 TEAM"
    assert c.distribution("assignment_group", 0.5).sum() == pytest.approx(1.0)
