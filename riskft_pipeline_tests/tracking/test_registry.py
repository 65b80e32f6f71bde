"""Failure-safe registration and the champion gate applied, against a real (SQLite) MLflow registry (the decision
itself: ``core/test_gate.py``)."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.tracking import registry
from riskft_pipeline.tracking.client import TrackingError
from riskft_pipeline.tracking.registry import register_adapter
from riskft_pipeline.tracking.runs import start_training_run
from riskft_pipeline_tests.tracking.fakes import fake_report, make_data

SPLIT = "a" * 64


@pytest.fixture(scope="module")
def lineage(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data"))


def _register(recipe, adapter, lineage, report, model="gate-model", task="tickets", **kwargs):
    with start_training_run("registry-test", "train", recipe=recipe) as run:
        pass
    return register_adapter(run_id=run.run_id, adapter_dir=adapter, report=report, model_name=model,
                            lineage=lineage, task=task, **kwargs)


def _champion_version(store, model="gate-model") -> str:
    return str(store.client.get_model_version_by_alias(model, "champion").version)


def test_champion_moves_only_when_strictly_better_on_the_same_split(store, recipe, fake_adapter, lineage,
                                                                   tmp_path):
    first = _register(recipe, fake_adapter, lineage, fake_report(0.70))
    assert first["promoted"] and first["previous_champion"] is None and first["version"] == "1"
    assert first["model_uri"] == "models:/gate-model/1"

    worse = _register(recipe, fake_adapter, lineage, fake_report(0.60))
    assert not worse["promoted"] and "does not beat" in worse["reason"]
    assert worse["previous_champion"] == {"version": "1", "value": 0.70}
    tags = store.client.get_model_version("gate-model", worse["version"]).tags
    assert tags["riskft.promoted"] == "false" and tags["riskft.gate_reason"] == worse["reason"]
    assert tags["riskft.status"] == "ready"
    run_tags = store.client.get_run(worse["run_id"]).data.tags
    assert run_tags["riskft.gate_reason"] == worse["reason"]
    assert run_tags["riskft.registered_version"] == f"gate-model/{worse['version']}"
    decision = {f.path for f in store.client.list_artifacts(worse["run_id"], "registration")}
    assert decision == {"registration/decision.json"}

    equal = _register(recipe, fake_adapter, lineage, fake_report(0.70))
    assert not equal["promoted"] and _champion_version(store) == "1"

    invalid = _register(recipe, fake_adapter, lineage, fake_report(0.95, valid_json_rate=0.5),
                        min_valid_json_rate=0.9)
    assert not invalid["promoted"] and "valid-JSON rate" in invalid["reason"]

    other_split = make_data(tmp_path / "other", test_text="another test split\n")
    elsewhere = _register(recipe, fake_adapter, other_split, fake_report(0.99))
    assert not elsewhere["promoted"] and "different test split" in elsewhere["reason"]
    assert _champion_version(store) == "1"

    better = _register(recipe, fake_adapter, lineage, fake_report(0.75))
    assert better["promoted"] and better["previous_champion"] == {"version": "1", "value": 0.70}
    assert _champion_version(store) == better["version"]
    versions = store.client.search_model_versions("name = 'gate-model'")
    assert len(versions) == 6 and all(v.tags["riskft.status"] == "ready" for v in versions)


def test_only_the_adapter_is_logged(store, recipe, fake_adapter, lineage):
    result = _register(recipe, fake_adapter, lineage, fake_report(0.5), model="adapter-only")
    listed = {f.path for f in _list(store, f"models:/adapter-only/{result['version']}", "artifacts/adapter")}
    assert {p.rsplit("/", 1)[-1] for p in listed} == {
        "adapter_model.safetensors", "adapter_config.json", "riskft_adapter.json"}


def _list(store, uri: str, path: str):
    import mlflow.artifacts

    return mlflow.artifacts.list_artifacts(artifact_uri=f"{uri}/{path}", tracking_uri=store.uri)


def test_a_failure_midway_leaves_no_version_and_no_alias_and_a_rerun_succeeds(store, recipe, fake_adapter,
                                                                              lineage, monkeypatch):
    def store_fails(*args, **kwargs):
        raise MlflowException("database is locked")

    monkeypatch.setattr(registry, "_record_decision", store_fails)
    with pytest.raises(TrackingError, match="database is locked"):
        _register(recipe, fake_adapter, lineage, fake_report(0.9), model="midway")
    assert store.client.search_model_versions("name = 'midway'") == []
    with pytest.raises(MlflowException):
        store.client.get_model_version_by_alias("midway", "champion")

    monkeypatch.undo()
    result = _register(recipe, fake_adapter, lineage, fake_report(0.9), model="midway")
    assert result["promoted"] and _champion_version(store, "midway") == result["version"]


def test_a_version_left_half_made_is_removed_by_the_rerun(store, recipe, fake_adapter, lineage, monkeypatch):
    """When the store dies mid-registration nothing can be deleted; the version keeps status 'registering' and
    the next attempt for the same run removes it."""
    with start_training_run("registry-test", "train", recipe=recipe) as run:
        pass
    monkeypatch.setattr(registry, "_abandon", lambda *a: None)  # as if the store were gone
    monkeypatch.setattr(registry, "_await_ready", lambda *a: (_ for _ in ()).throw(MlflowException("gone")))
    kwargs = {"run_id": run.run_id, "adapter_dir": fake_adapter, "lineage": lineage, "task": "tickets",
              "model_name": "half-made", "report": fake_report(0.8)}
    with pytest.raises(TrackingError):
        register_adapter(**kwargs)
    (left,) = store.client.search_model_versions("name = 'half-made'")
    assert left.tags["riskft.status"] == "registering" and not left.aliases

    monkeypatch.undo()
    result = register_adapter(**kwargs)
    remaining = store.client.search_model_versions("name = 'half-made'")
    assert [str(v.version) for v in remaining] == [result["version"]] and result["promoted"]


def test_unusable_inputs_fail_before_anything_is_registered(store, recipe, fake_adapter, lineage, tmp_path):
    with pytest.raises(InputError, match="riskft_adapter.json"):
        _register(recipe, tmp_path, lineage, fake_report(0.5), model="bad-inputs")
    wrong_metric = {**fake_report(0.5), "primary_metric": {"name": "test_auc", "value": 0.5}}
    with pytest.raises(InputError, match="'test_auc' but registration expects 'mean_field_accuracy'"):
        _register(recipe, fake_adapter, lineage, wrong_metric, model="bad-inputs")
    with pytest.raises(InputError, match="trained for task 'tickets', not 'risk'"):
        _register(recipe, fake_adapter, lineage, fake_report(0.5), model="bad-inputs", task="risk")
    with pytest.raises(InputError, match="no such file"):
        _register(recipe, fake_adapter, {"input": tmp_path / "gone.csv"}, fake_report(0.5), model="bad-inputs")
    assert store.client.search_model_versions("name = 'bad-inputs'") == []


# --- a champion measured on another test split: re-evaluated on the candidate's ----------------------------------




def _reevaluator(value: float | None = None, error: Exception | None = None):
    """A stand-in for the evaluation (the real one runs in ``test_reevaluation.py``): records its calls."""
    calls: list[tuple] = []

    def reevaluate(adapter_dir, version):
        calls.append((adapter_dir, version))
        assert (adapter_dir / "riskft_adapter.json").is_file()  # the champion's registered adapter, fetched
        if error is not None:
            raise error
        return fake_report(value)

    reevaluate.calls = calls
    return reevaluate


def test_a_champion_from_another_split_is_reevaluated_and_the_decision_recorded(store, recipe, fake_adapter,
                                                                                lineage, tmp_path):
    model = "reeval-model"
    assert _register(recipe, fake_adapter, lineage, fake_report(0.90), model=model)["promoted"]
    new_split = make_data(tmp_path / "new", test_text="new rows appended\n")
    worse_here = _reevaluator(0.40)
    result = _register(recipe, fake_adapter, new_split, fake_report(0.60), model=model, reevaluate=worse_here)
    assert [v for _, v in worse_here.calls] == ["1"]
    assert result["promoted"] and _champion_version(store, model) == result["version"]
    assert "beats @champion version 1 (0.4000) re-evaluated on this test split" in result["reason"]
    compared = result["comparison"]
    assert compared["champion_reevaluated"] and compared["champion_value"] == 0.40
    assert compared["champion_recorded"]["value"] == 0.90
    new_sha = compared["compared_on_test_sha256"]
    mv = store.client.get_model_version(model, result["version"])
    assert mv.tags["riskft.test_split.sha256"] == new_sha
    assert mv.tags["riskft.gate.champion_version"] == "1" and mv.tags["riskft.gate.champion_reevaluated"] == "true"
    assert float(mv.tags["riskft.gate.champion_value"]) == 0.40
    assert mv.tags["riskft.gate.compared_on_test_sha256"] == new_sha
    assert "re-evaluated on this version's test split" in mv.description and "0.4000" in mv.description
    assert mv.tags["riskft.gate_reason"] in mv.description

    # same split as the (new) champion: recorded metrics compared, nothing re-evaluated
    never = _reevaluator(error=AssertionError("must not re-evaluate on the same split"))
    same = _register(recipe, fake_adapter, new_split, fake_report(0.55), model=model, reevaluate=never)
    assert never.calls == [] and not same["promoted"] and "on the same test split" in same["reason"]
    assert same["comparison"]["champion_reevaluated"] is False
    assert same["comparison"]["compared_on_test_sha256"] == new_sha
    tags = store.client.get_model_version(model, same["version"]).tags
    assert tags["riskft.gate.champion_reevaluated"] == "false" and float(tags["riskft.gate.champion_value"]) == 0.60

    # a candidate blocked by its own valid-JSON rate does not cost a re-evaluation
    blocked = _register(recipe, fake_adapter, lineage, fake_report(0.99, valid_json_rate=0.1), model=model,
                        reevaluate=never, min_valid_json_rate=0.5)
    assert never.calls == [] and not blocked["promoted"] and "valid-JSON rate" in blocked["reason"]


def test_no_champion_means_no_reevaluation(store, recipe, fake_adapter, lineage):
    never = _reevaluator(error=AssertionError("nothing to re-evaluate"))
    first = _register(recipe, fake_adapter, lineage, fake_report(0.1), model="reeval-first", reevaluate=never)
    assert first["promoted"] and never.calls == [] and first["comparison"] is None


def test_a_champion_whose_artifacts_are_gone_is_not_comparable_and_keeps_the_alias(store, recipe, fake_adapter,
                                                                                   lineage, tmp_path):
    import shutil
    from urllib.parse import urlparse

    model = "reeval-gone"
    first = _register(recipe, fake_adapter, lineage, fake_report(0.90), model=model)
    mv = store.client.get_model_version(model, first["version"])
    location = store.client.get_logged_model(mv.source.removeprefix("models:/")).artifact_location
    shutil.rmtree(urlparse(location).path)  # the run's files deleted behind the registry's back
    never = _reevaluator(error=AssertionError("nothing to evaluate"))
    new_split = make_data(tmp_path / "new", test_text="other rows\n")
    result = _register(recipe, fake_adapter, new_split, fake_report(0.99), model=model, reevaluate=never)
    assert never.calls == [] and not result["promoted"]
    assert _champion_version(store, model) == first["version"]
    assert "different test split" in result["reason"]
    assert "could not be re-evaluated on this one: its artifacts could not be fetched" in result["reason"]
    assert "files are missing from the artifact store" in result["reason"]
    tags = store.client.get_model_version(model, result["version"]).tags
    assert tags["riskft.gate.reevaluation_error"].startswith("its artifacts could not be fetched")
    assert tags["riskft.gate.champion_reevaluated"] == "false" and "riskft.gate.champion_value" not in tags
    assert "riskft.gate.compared_on_test_sha256" not in tags and tags["riskft.status"] == "ready"
    assert "re-evaluation failed: its artifacts could not be fetched" in store.client.get_model_version(
        model, result["version"]).description


def test_a_champion_that_fails_to_evaluate_is_not_comparable(store, recipe, fake_adapter, lineage, tmp_path):
    model = "reeval-fails"
    _register(recipe, fake_adapter, lineage, fake_report(0.90), model=model)
    broken = _reevaluator(error=RuntimeError("base weights differ"))
    result = _register(recipe, fake_adapter, make_data(tmp_path / "new", test_text="x\n"), fake_report(0.99),
                       model=model, reevaluate=broken)
    assert len(broken.calls) == 1 and not result["promoted"] and _champion_version(store, model) == "1"
    assert "its evaluation failed (RuntimeError: base weights differ); not comparable" in result["reason"]


def test_a_champion_that_moves_during_the_reevaluation_is_reevaluated_again(store, recipe, fake_adapter, lineage,
                                                                            tmp_path):
    model = "reeval-moved"
    _register(recipe, fake_adapter, lineage, fake_report(0.90), model=model)
    calls: list[str] = []

    def reevaluate(adapter_dir, version):
        calls.append(version)
        if len(calls) == 1:  # another registration promotes a new champion while this one evaluates
            assert _register(recipe, fake_adapter, lineage, fake_report(0.95), model=model)["promoted"]
        return fake_report({"1": 0.10, "2": 0.70}[version])

    result = _register(recipe, fake_adapter, make_data(tmp_path / "new", test_text="y\n"), fake_report(0.60),
                       model=model, reevaluate=reevaluate)
    assert calls == ["1", "2"] and result["comparison"]["champion_version"] == "2"
    assert not result["promoted"] and "does not beat @champion version 2 (0.7000) re-evaluated" in result["reason"]
    assert _champion_version(store, model) == "2"
