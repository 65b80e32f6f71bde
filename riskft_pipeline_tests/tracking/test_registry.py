"""The champion gate and failure-safe registration, against a real (SQLite) MLflow registry."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from riskft_pipeline.core.errors import InputError
from riskft_pipeline.tracking import registry
from riskft_pipeline.tracking.client import TrackingError
from riskft_pipeline.tracking.registry import Champion, decide, register_adapter
from riskft_pipeline.tracking.runs import start_training_run
from riskft_pipeline_tests.tracking.fakes import fake_report, make_data

SPLIT = "a" * 64
METRIC = "mean_field_accuracy"


# --- the decision itself (pure) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "champion", "promote", "words"),
    [
        (0.5, None, True, "no current @champion"),
        (0.81, Champion("3", METRIC, 0.80, SPLIT), True, "beats @champion version 3 (0.8000)"),
        (0.80, Champion("3", METRIC, 0.80, SPLIT), False, "does not beat"),
        (0.79, Champion("3", METRIC, 0.80, SPLIT), False, "does not beat"),
        (0.99, Champion("3", METRIC, 0.80, "b" * 64), False, "different test split"),
        (0.99, Champion("3", "test_auc", 0.60, SPLIT), False, "not comparable"),
        (0.99, Champion("3", METRIC, None, SPLIT), False, "not comparable"),
    ],
)
def test_decide(value, champion, promote, words):
    promoted, reason = decide((METRIC, value), SPLIT, champion)
    assert promoted is promote
    assert words in reason


def test_decide_lower_is_better_and_valid_json_precondition():
    champion = Champion("1", "brier", 0.20, SPLIT)
    assert decide(("brier", 0.10), SPLIT, champion, higher_is_better=False)[0] is True
    assert decide(("brier", 0.30), SPLIT, champion, higher_is_better=False)[0] is False
    blocked, reason = decide((METRIC, 0.99), SPLIT, None, valid_json_rate=0.80, min_valid_json_rate=0.95)
    assert not blocked and "valid-JSON rate 0.8000 is below the required 0.9500" in reason
    assert not decide((METRIC, 0.99), SPLIT, None, valid_json_rate=None, min_valid_json_rate=0.5)[0]


# --- end to end against the registry -----------------------------------------------------------------------------


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
