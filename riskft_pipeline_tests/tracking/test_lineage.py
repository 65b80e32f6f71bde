"""Lineage an auditor can verify: everything is read back from the registry, and changed files are named."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from riskft_pipeline.core.config import recipe_dict, recipe_hash
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.tracking.lineage import (
    format_lineage_text,
    get_lineage,
    git_state,
    has_mismatch,
    verify_lineage,
)
from riskft_pipeline.tracking.registry import register_adapter
from riskft_pipeline.tracking.runs import log_report, start_training_run
from riskft_pipeline_tests.tracking.fakes import FAKE_IDENTITY, fake_report, make_data


@pytest.fixture(scope="module")
def registered(store, recipe, fake_adapter, tmp_path_factory):
    """One version registered the way the pipeline does it, with a Dagster run id and recorded split hashes."""
    data = tmp_path_factory.mktemp("lineage-data")
    lineage = make_data(data)
    lineage["splits"]["test"] = {"path": data / "test.jsonl", "sha256": sha256_file(data / "test.jsonl")}
    lineage.update(dagster_run_id="dagster-run-42", data_versions={"ticket_splits": "v-abc"})
    report = fake_report(0.8)
    with start_training_run("lineage-test", "train", recipe=recipe) as run:
        log_report(run.run_id, report)
    result = register_adapter(run_id=run.run_id, adapter_dir=fake_adapter, report=report,
                              model_name="audited", lineage=lineage, task="tickets")
    return {"result": result, "data": data, "run_id": run.run_id}


def test_lineage_is_read_back_from_the_registry(store, recipe, registered):
    data = registered["data"]
    by_alias = get_lineage("audited", "@champion")
    assert get_lineage("audited", registered["result"]["version"]) == {**by_alias, "requested": "1"}
    assert by_alias["mlflow_run_id"] == registered["run_id"]
    assert by_alias["dagster_run_id"] == "dagster-run-42"
    assert by_alias["data_versions"] == {"ticket_splits": "v-abc"}
    assert by_alias["aliases"] == ["champion"] and by_alias["status"] == "ready"
    assert set(by_alias["files"]) == {"input", "split.train", "split.val", "split.test", "adapter"}
    for role, name in (("input", "raw.csv"), ("split.test", "test.jsonl")):
        entry = by_alias["files"][role]
        assert entry == {"path": str(data / name), "sha256": sha256_file(data / name)}
    assert by_alias["test_split"] == {"name": "test", "sha256": sha256_file(data / "test.jsonl")}
    assert set(by_alias["git"]) == {"commit", "dirty"} and by_alias["git"]["commit"]
    assert by_alias["base_model"]["identity"] == FAKE_IDENTITY
    assert by_alias["base_model"]["weights_sha256"] == FAKE_IDENTITY["weights_sha256"]
    assert by_alias["recipe"] == recipe_dict(recipe) and by_alias["recipe_hash"] == recipe_hash(recipe)
    assert by_alias["seed"] == str(recipe.train.seed)
    assert {"mlflow", "torch", "python"} <= set(by_alias["library_versions"])
    evaluation = by_alias["evaluation"]
    assert evaluation["primary_metric"] == {"name": "mean_field_accuracy", "value": 0.8}
    assert evaluation["headline"]["fields.category.model.accuracy"] == 0.8
    assert "fields.category.majority.accuracy" not in evaluation["headline"]
    json.dumps(by_alias)  # `--format json` must be able to print it


def test_the_adapter_weights_are_recorded_and_rehashed_from_the_registry(registered, fake_adapter):
    lineage = get_lineage("audited", "@champion")
    weights = fake_adapter / "adapter_model.safetensors"
    assert lineage["files"]["adapter"] == {"path": "artifact:adapter/adapter_model.safetensors",
                                           "sha256": sha256_file(weights)}
    results = {r["role"]: r for r in verify_lineage(lineage)}
    assert results["adapter"]["status"] == "ok" and results["adapter"]["actual"] == sha256_file(weights)
    # a record that does not match the registered bytes is named, whatever the local folder holds
    tampered = {**lineage, "files": {**lineage["files"], "adapter": {**lineage["files"]["adapter"],
                                                                     "sha256": "0" * 64}}}
    assert {r["role"]: r for r in verify_lineage(tampered)}["adapter"]["status"] == "mismatch"


def test_the_base_model_is_rehashed_when_this_machine_has_it(tmp_path):
    from safetensors.numpy import save_file

    from riskft_pipeline.training.base_model import weights_sha256

    base = tmp_path / "base"
    base.mkdir()
    save_file({"w": np.ones((2, 2), dtype=np.float32)}, str(base / "model.safetensors"))
    identity = {"name": str(base), "source": "local", "path": str(base), "weights_sha256": weights_sha256(base)}
    lineage = {"files": {}, "base_model": {"name": str(base), "identity": identity,
                                           "weights_sha256": identity["weights_sha256"]}}
    [result] = verify_lineage(lineage)
    assert result["role"] == "base_model" and result["status"] == "ok" and result["path"] == str(base)

    save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(base / "model.safetensors"))  # weights changed
    [result] = verify_lineage(lineage)
    assert result["status"] == "mismatch" and result["actual"] != result["expected"]
    assert has_mismatch([result]) and "MISMATCH" in format_lineage_text(_text_ready(lineage), [result])

    shutil.rmtree(base)
    [result] = verify_lineage(lineage)
    assert result["status"] == "absent" and not has_mismatch([result])
    assert f"absent   {base} (no local copy)" in format_lineage_text(_text_ready(lineage), [result])


def _text_ready(lineage: dict) -> dict:
    """The keys :func:`format_lineage_text` reads, around a hand-made lineage."""
    return {"model_name": "m", "version": "1", "aliases": [], "status": "ready", "mlflow_run_id": "r",
            "dagster_run_id": None, "model_uri": "models:/m/1", "files": {}, "git": {"commit": "c", "dirty": "false"},
            "recipe": None, "recipe_hash": "h", "seed": "1", "library_versions": {},
            "evaluation": {"primary_metric": {"name": "x", "value": 1.0}, "valid_json_rate": None, "headline": {}},
            "test_split": {"sha256": None}, "gate": {"promoted": "true", "reason": "r", "comparison": {}},
            **lineage}


def test_the_lineage_command_prints_json_and_verifies(registered, capsys):
    """`riskft lineage MODEL @alias --verify --format json` (cli/lineage.py): exit 0 while every file matches."""
    from riskft_pipeline.cli import main

    assert main(["lineage", "audited", "@champion", "--verify", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == registered["result"]["version"] and out["dagster_run_id"] == "dagster-run-42"
    assert {v["status"] for v in out["verification"]} <= {"ok", "absent"}
    assert main(["lineage", "audited", "@champion"]) == 0 and "dagster-run-42" in capsys.readouterr().out


def test_verify_passes_then_names_the_changed_split(registered):
    data = registered["data"]
    lineage = get_lineage("audited", "@champion")
    statuses = {r["role"]: r["status"] for r in verify_lineage(lineage)}
    assert statuses.pop("base_model") == "absent", "the fake base model exists nowhere on this machine"
    assert set(statuses.values()) == {"ok"}

    changed = data / "test.jsonl"
    raw = bytearray(changed.read_bytes())
    raw[0] ^= 0x01  # one byte
    changed.write_bytes(bytes(raw))
    (data / "val.jsonl").unlink()
    results = {r["role"]: r for r in verify_lineage(lineage)}
    assert results["split.test"]["status"] == "mismatch"
    assert results["split.test"]["path"] == str(changed)
    assert results["split.test"]["actual"] == sha256_file(changed) != results["split.test"]["expected"]
    assert results["split.val"]["status"] == "missing"
    assert results["input"]["status"] == results["split.train"]["status"] == "ok"
    assert has_mismatch(list(results.values()))

    text = format_lineage_text(lineage, list(results.values()))
    assert f"MISMATCH {changed}" in text and "dagster-run-42" in text and registered["run_id"] in text
    assert "missing" in text and "mean_field_accuracy = 0.8" in text


def test_unknown_versions_and_aliases_are_input_errors(registered):
    with pytest.raises(InputError, match="has no alias @challenger"):
        get_lineage("audited", "@challenger")
    with pytest.raises(InputError, match="has no version 99"):
        get_lineage("audited", "99")
    with pytest.raises(InputError):
        get_lineage("no-such-model", "@champion")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")
def test_git_state(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}  # not a repository
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("a")
    assert git_state(tmp_path) == {"commit": None, "dirty": True}  # no commit yet
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "a.txt").write_text("b")
    assert git_state(tmp_path) == {"commit": head, "dirty": True}
