"""The champion gate after new data, for real (tickets chain, tiny recipe, offline base): the champion was evaluated
on split A; new tickets make split B; registering a version evaluated on B re-evaluates the champion's registered
adapter on B with the same evaluation function and settings, and the alias moves only if the candidate is better
there. (The risk chain's version of this runs through Dagster in ``defs/test_reevaluation_chain.py``.)

Two adapters are trained (on A and on B); two more are derived without training, so that each outcome is certain
by construction rather than by luck: A's weights declared as trained on B (same model → same metric → must not
move), and A with its LoRA ``B`` matrices zeroed (the bare base, which the trained adapter beats on B → must move).

The metric compared is the shipped (fused) predictor's. Both sides refit TF-IDF + LR on split B's training tickets and
choose their fusion weights on B's four validation tickets, where the tiny adapters earn no weight: their categorical
answers are TF-IDF + LR's, identical. What separates them is the adapter's own part, the free-text fields: the bare
base fills in none (it answers null after the answer prefix), the trained adapter copies ``software_system``. Until
the free text was generated after re-writing the last answer tokens, no adapter filled it in either (the token
boundary after ``"software_system":`` was one training never showed), both scored .625 and the candidate could not be
promoted; the precondition below names that case instead of letting the gate assertion fail obscurely.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pytest

from riskft_pipeline import workflows
from riskft_pipeline.core.adapter_files import RUN_INFO, read_run_info
from riskft_pipeline.core.config import load_recipe
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.core.tickets.prompts import FREE_TEXT_FIELDS
from riskft_pipeline.paths import configs_dir, embedded_data_dir
from riskft_pipeline.tracking.runs import start_training_run
from riskft_pipeline_tests.conftest import head_csv
from riskft_pipeline_tests.tracking.conftest import open_store

pytestmark = pytest.mark.slow

TINY = configs_dir() / "tickets_tiny.yaml"
FIRST_TICKETS = 900


@pytest.fixture(scope="module")
def splits(tmp_path_factory) -> dict[str, Path]:
    """Split A from the first tickets; split B from the whole file (as after new tickets were appended)."""
    root = tmp_path_factory.mktemp("tickets-splits")
    recipe = load_recipe(TINY)
    head_csv(embedded_data_dir() / "tickets.csv", root / "first.csv", FIRST_TICKETS)
    workflows.prepare("tickets", root / "first.csv", root / "A", recipe)
    workflows.prepare("tickets", embedded_data_dir() / "tickets.csv", root / "B", recipe)
    assert sha256_file(root / "A" / "test.jsonl") != sha256_file(root / "B" / "test.jsonl")
    return {"A": root / "A", "B": root / "B"}


def _derive(adapter_dir: Path, dest: Path, data_dir: Path, *, zero_lora_b: bool = False) -> Path:
    """A copy of a trained adapter folder whose ``run.json`` names ``data_dir``; optionally with LoRA B = 0."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(adapter_dir, dest / "adapter")
    info = json.loads((adapter_dir.parent / RUN_INFO).read_text())
    (dest / RUN_INFO).write_text(json.dumps({**info, "data_dir": str(data_dir)}))
    if zero_lora_b:
        weights = dest / "adapter" / "adapter_model.safetensors"
        tensors = load_file(weights)
        assert any("lora_B" in k for k in tensors)
        save_file({k: v.zero_() if "lora_B" in k else v for k, v in tensors.items()}, str(weights))
    return dest / "adapter"


@pytest.fixture(scope="module")
def adapters(splits, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tickets-adapters")
    trained = {name: Path(workflows.train(TINY, splits[name], root / f"train-{name}", track=False,
                                          progress=False)["adapter_dir"]) for name in ("A", "B")}
    return {**trained,
            "A-weights-on-B": _derive(trained["A"], root / "a-on-b", splits["B"]),
            "zeroed": _derive(trained["A"], root / "zeroed", splits["A"], zero_lora_b=True)}


def _evaluate(adapter: Path) -> dict:
    """The eval asset's evaluation, on the split named by the adapter's run.json (zero-shot baseline skipped: it
    does not enter the primary metric and doubles the time)."""
    recipe = load_recipe(TINY)
    fast = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"zero_shot_baseline": False})})
    data_dir = Path(read_run_info(adapter)["data_dir"])
    return workflows.evaluate(adapter, data_dir, adapter.parent / "eval", recipe=fast, progress=False,
                              log_to_run=False)


@pytest.fixture
def store(tmp_path, template_db, session_home, monkeypatch):
    """A registry of its own per test (the recipe fixes the model name); the base model cache is shared."""
    home = tmp_path / "home"
    home.mkdir()
    (session_home / "models").mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(session_home / "models", target_is_directory=True)
    yield open_store(home, template_db, monkeypatch)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _register(store, adapter: Path, report: dict, out: Path) -> dict:
    with start_training_run("reeval-test", "train", recipe=load_recipe(TINY), tracking_uri=store.uri) as run:
        pass
    return workflows.register(adapter, report, run_id=run.run_id, tracking_uri=store.uri,
                              reevaluation_dir=out / run.run_id, progress=False)


def _champion(store) -> str:
    return str(store.client.get_model_version_by_alias("ticket-extractor", "champion").version)


def _check_recorded(store, result: dict, split_b: Path, out: Path) -> None:
    """The comparison is on the version (tags, description), in the run's decision.json, and on disk."""
    b_sha = sha256_file(split_b / "test.jsonl")
    compared = result["comparison"]
    assert compared["champion_version"] == "1" and compared["champion_reevaluated"] is True
    assert compared["compared_on_test_sha256"] == b_sha != compared["champion_recorded"]["test_split_sha256"]
    mv = store.client.get_model_version("ticket-extractor", result["version"])
    assert mv.tags["riskft.test_split.sha256"] == b_sha
    assert mv.tags["riskft.gate.champion_reevaluated"] == "true"
    assert mv.tags["riskft.gate.compared_on_test_sha256"] == b_sha
    assert float(mv.tags["riskft.gate.champion_value"]) == compared["champion_value"]
    assert mv.tags["riskft.gate_reason"] == result["reason"] and "re-evaluated on this test split" in result["reason"]
    assert f"{compared['champion_value']:.4f}" in mv.description
    decision = mlflow.artifacts.load_dict(f"runs:/{result['run_id']}/registration/decision.json")
    assert decision["comparison"] == compared
    (report_path,) = out.glob("*/version-1/report.json")
    champion_report = json.loads(report_path.read_text())
    assert champion_report["data"]["test"] == b_sha
    assert champion_report["primary_metric"]["value"] == compared["champion_value"]


def test_champion_reevaluated_on_the_new_split_keeps_the_alias_when_not_beaten(store, adapters, splits, tmp_path):
    first = _register(store, adapters["A"], _evaluate(adapters["A"]), tmp_path / "reeval")
    assert first["promoted"] and first["version"] == "1"

    candidate = _evaluate(adapters["A-weights-on-B"])  # the champion's own weights, measured on B
    result = _register(store, adapters["A-weights-on-B"], candidate, tmp_path / "reeval")
    _check_recorded(store, result, splits["B"], tmp_path / "reeval")
    # same weights, same evaluation function, same sampled rows and settings: exactly the same number
    assert result["comparison"]["champion_value"] == candidate["primary_metric"]["value"]
    assert not result["promoted"] and "does not beat @champion version 1" in result["reason"]
    assert _champion(store) == "1"


def test_champion_reevaluated_on_the_new_split_loses_the_alias_to_a_better_candidate(store, adapters, splits,
                                                                                     tmp_path):
    first = _register(store, adapters["zeroed"], _evaluate(adapters["zeroed"]), tmp_path / "reeval")
    assert first["promoted"] and first["version"] == "1"

    candidate = _evaluate(adapters["B"])  # retrained on the new split
    assert any(candidate["fields"][f]["model"]["accuracy"] > 0 for f in FREE_TEXT_FIELDS), (
        "precondition: the trained adapter fills in a free-text field right (what it adds to the fused predictor "
        "over the bare base here)")
    result = _register(store, adapters["B"], candidate, tmp_path / "reeval")
    _check_recorded(store, result, splits["B"], tmp_path / "reeval")
    assert result["comparison"]["champion_value"] < candidate["primary_metric"]["value"], result["reason"]
    assert result["promoted"] and "beats @champion version 1" in result["reason"]
    assert _champion(store) == result["version"] == "2"
