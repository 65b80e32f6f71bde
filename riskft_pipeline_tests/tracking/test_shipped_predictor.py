"""The registered version is the shipped predictor: both parts travel with it, and the pyfunc loaded from the registry
predicts exactly what the evaluation measured on the same test tickets / changes (tiny recipes, offline base).

The adapters are fresh random LoRA weights declared with the tiny recipes (training would add a minute and nothing
to what is checked here: that registration, loading and prediction reproduce the evaluated predictor)."""

from __future__ import annotations

from pathlib import Path

import mlflow.artifacts
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from riskft_pipeline import workflows
from riskft_pipeline.core.config import Recipe, load_recipe
from riskft_pipeline.core.files import read_jsonl, sha256_file
from riskft_pipeline.core.tickets.prompts import CATEGORICAL_FIELDS, FIELDS, FREE_TEXT_FIELDS, build_messages
from riskft_pipeline.paths import configs_dir, embedded_data_dir
from riskft_pipeline.tracking.lineage import get_lineage, verify_lineage
from riskft_pipeline.tracking.pyfunc import redacted_texts
from riskft_pipeline.tracking.registry import register_adapter
from riskft_pipeline.tracking.runs import start_training_run
from riskft_pipeline_tests.conftest import head_csv
from riskft_pipeline_tests.ops.helpers import lora_adapter

pytestmark = pytest.mark.slow



def _register(adapter: Path, report: dict, data: Path, recipe: Recipe) -> dict:
    with start_training_run(f"{recipe.name}-shipped", "train", recipe=recipe) as run:
        pass
    lineage = {"splits": {n: data / f"{n}.jsonl" for n in ("train", "val", "test")}}
    return register_adapter(run_id=run.run_id, adapter_dir=adapter, report=report,
                            model_name=recipe.register.model_name, primary_metric=recipe.register.primary_metric,
                            lineage=lineage, task=recipe.task)


def _check_predictor_artifact(result: dict, report: dict, files: tuple[str, ...]) -> None:
    """``predictor/`` holds the evaluated predictor (and the files it needs); lineage records and verifies it."""
    uri = f"models:/{result['model_name']}/{result['version']}"
    logged = {Path(f.path).name for f in mlflow.artifacts.list_artifacts(artifact_uri=f"{uri}/artifacts/predictor")}
    assert logged == set(files)
    assert mlflow.artifacts.load_dict(f"{uri}/artifacts/predictor/predictor.json") == report["predictor"]
    lineage = get_lineage(result["model_name"], result["version"])
    roles = {r["role"]: r for r in verify_lineage(lineage)}
    assert roles["predictor"]["status"] == "ok" and roles["predictor"]["path"] == "artifact:predictor/predictor.json"
    if "train.jsonl" in files:
        assert roles["predictor.train"]["status"] == "ok"
        assert roles["predictor.train"]["expected"] == lineage["files"]["split.train"]["sha256"]


def test_ticket_pyfunc_is_the_evaluated_predictor(store, tmp_path, one_thread):
    from riskft_pipeline.training.evaluate import evaluate_tickets

    recipe = load_recipe(configs_dir() / "tickets_tiny.yaml")
    recipe = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"zero_shot_baseline": False})})
    head_csv(embedded_data_dir() / "tickets.csv", tmp_path / "tickets.csv", 400)
    data = tmp_path / "data"
    workflows.prepare("tickets", tmp_path / "tickets.csv", data, recipe)
    adapter = lora_adapter(tmp_path / "adapter", recipe)
    report = evaluate_tickets(adapter, data, tmp_path / "eval", recipe=recipe, progress=False)
    assert report["shipped"] == "fused"

    result = _register(adapter, report, data, recipe)
    assert result["promoted"]
    _check_predictor_artifact(result, report, ("predictor.json", "train.jsonl"))

    evaluated = read_jsonl(tmp_path / "eval" / "predictions.jsonl")
    by_id = {r["id"]: r for r in read_jsonl(data / "test.jsonl")}
    prompts = [by_id[p["id"]]["messages"][:-1] for p in evaluated]
    texts = [m[-1]["content"] for m in prompts]
    frame = pd.DataFrame({"text": texts})
    assert [build_messages(t) for t in redacted_texts(frame)] == prompts, "the pyfunc sees the evaluated prompts"

    model = mlflow.pyfunc.load_model(f"models:/{result['model_name']}/{result['version']}")
    predicted = model.predict(frame)
    assert list(predicted.columns) == [*(f"pred_{f}" for f in FIELDS), *(f"conf_{f}" for f in FIELDS),
                                       "valid_json", "needs_review", "review_fields"]
    assert predicted[[f"pred_{f}" for f in FIELDS]].rename(columns=lambda c: c[5:]).to_dict("records") == \
        [p["predicted"] for p in evaluated]
    for f in CATEGORICAL_FIELDS:
        assert predicted[f"conf_{f}"].tolist() == [p["confidence"][f] for p in evaluated], f
    for f in FREE_TEXT_FIELDS:
        assert predicted[f"conf_{f}"].dropna().between(0.0, 1.0).all()
    thresholds = {f: report["predictor"]["fields"][f]["review"]["threshold"] for f in CATEGORICAL_FIELDS}
    for row, p in zip(predicted.itertuples(), evaluated):
        expected = [f for f in CATEGORICAL_FIELDS if thresholds[f] is None or p["confidence"][f] < thresholds[f]]
        assert row.review_fields == ",".join(expected) and row.needs_review is bool(expected)


def test_change_risk_pyfunc_is_the_evaluated_predictor(store, tmp_path, one_thread):
    from riskft_pipeline.core.risk.features import FEATURES, ID
    from riskft_pipeline.training.evaluate_risk import evaluate_risk

    recipe = load_recipe(configs_dir() / "risk_tiny.yaml")
    recipe = recipe.model_copy(update={"risk": recipe.risk.model_copy(update={"justification": False})})
    data = tmp_path / "data"
    workflows.prepare("risk", embedded_data_dir() / "changes.csv", data, recipe)
    adapter = lora_adapter(tmp_path / "adapter", recipe)
    report = evaluate_risk(adapter, data, tmp_path / "eval", recipe=recipe, progress=False)
    assert report["shipped"] == "fused" and report["predictor"]["tier_cuts"] == report["tier_cuts"]

    result = _register(adapter, report, data, recipe)
    assert result["promoted"]
    _check_predictor_artifact(result, report, ("predictor.json",))
    context = mlflow.artifacts.list_artifacts(
        artifact_uri=f"models:/{result['model_name']}/{result['version']}/artifacts/risk_context")
    assert {Path(f.path).name for f in context} == {"history_stats.json", "tier_definition.json"}, \
        "the cut points travel in predictor.json (on the fused score), not as an adapter-score tier_cuts.json"

    evaluated = read_jsonl(tmp_path / "eval" / "predictions.jsonl")
    clean = pd.read_parquet(data / "clean.parquet").set_index(ID)
    changes = clean.loc[[str(p["id"]) for p in evaluated]].reset_index()
    new = changes.drop(columns=[c for c in ("bug", "split") if c in changes.columns])
    assert set(FEATURES) <= set(new.columns)

    model = mlflow.pyfunc.load_model(f"models:/{result['model_name']}/{result['version']}")
    scored = model.predict(new)
    assert list(scored.columns) == ["risk_tier", "risk_score", "p_low", "p_medium", "p_high", "adapter_score",
                                    "risk_percentile", "risk_zone"]
    assert scored["risk_zone"].tolist() == [p["zone"] for p in evaluated]
    np.testing.assert_allclose(scored["risk_percentile"], [p["percentile"] for p in evaluated], atol=0.11)
    np.testing.assert_allclose(scored["risk_score"], [p["score"] for p in evaluated], atol=2e-6)
    np.testing.assert_allclose(scored["adapter_score"], [p["adapter_score"] for p in evaluated], atol=2e-6)
    for t in ("low", "medium", "high"):
        np.testing.assert_allclose(scored[f"p_{t}"], [p[f"p_{t}"] for p in evaluated], atol=2e-6)
    assert scored["risk_tier"].tolist() == [p["tier"] for p in evaluated]
    assert not np.allclose(scored["risk_score"], scored["adapter_score"]), "the shipped score is the fused one"


def test_a_report_with_a_predictor_registers_its_training_split_as_evaluated(store, recipe, fake_adapter, tmp_path):
    """The ticket predictor refits TF-IDF + LR from the training split at load time: registering it with another
    training split than the one the evaluation read would ship a predictor nobody measured."""
    from riskft_pipeline.core.errors import InputError
    from riskft_pipeline_tests.tracking.fakes import fake_report, make_data

    lineage = make_data(tmp_path)
    predictor = {"kind": "ticket-fusion", "fields": {}}
    report = {**fake_report(0.7), "shipped": "fused", "predictor": predictor,
              "data": {"train": sha256_file(tmp_path / "train.jsonl")}}
    (tmp_path / "train.jsonl").write_text("other rows\n", encoding="utf-8")
    with start_training_run("shipped-mismatch", "train", recipe=recipe) as run:
        pass
    with pytest.raises(InputError, match="not the training split the evaluation read"):
        register_adapter(run_id=run.run_id, adapter_dir=fake_adapter, report=report, model_name="mismatch",
                         lineage=lineage, task="tickets")
    with pytest.raises(InputError, match="carries no 'predictor'"):
        register_adapter(run_id=run.run_id, adapter_dir=fake_adapter, report={**report, "predictor": None},
                         model_name="mismatch", lineage=lineage, task="tickets")
    with pytest.raises(InputError, match="of kind 'risk-fusion'"):
        register_adapter(run_id=run.run_id, adapter_dir=fake_adapter,
                         report={**report, "predictor": {"kind": "risk-fusion"}}, model_name="mismatch",
                         lineage=lineage, task="tickets")
