"""Lineage an auditor can verify: what a registered model version was made from, read back from MLflow alone.

At registration, :func:`lineage_tags` turns the caller's lineage (input file, splits, Dagster run id, ...) into
model-version tags; the schema lives here so that writing and reading it cannot drift. :func:`get_lineage` reads a
version (by number or ``@alias``) back with its run's params, metrics and recipe artifact; :func:`verify_lineage`
re-hashes the recorded files that still exist.

Tag schema on a version (all strings):

- ``riskft.file.<role>.path`` / ``riskft.file.<role>.sha256`` for ``input``, ``split.<name>`` and any extra role;
  the files logged with the model are roles ``adapter`` (``artifact:adapter/adapter_model.safetensors``, the adapter
  weights), ``predictor`` (``artifact:predictor/predictor.json``) and, for tickets, ``predictor.train`` (the training
  split the predictor refits from): inside the version's model artifacts, which is where :func:`verify_lineage`
  re-hashes them from. The base model is re-hashed from its local folder when this machine has one
  (:func:`verify_base_model`).
- ``riskft.test_split.name`` / ``riskft.test_split.sha256``: the split the primary metric was measured on
- ``riskft.dagster_run_id``, ``riskft.data_version.<asset>``
- ``riskft.git.commit`` (``unknown`` outside a git checkout or before the first commit) / ``riskft.git.dirty``
- ``riskft.base_model.name`` / ``.identity`` (JSON) / ``.weights_sha256``, ``riskft.recipe_hash``, ``riskft.task``
- ``riskft.primary_metric.name`` / ``.value`` / ``.higher_is_better``, ``riskft.valid_json_rate``
- ``riskft.status`` (``registering`` → ``ready``), ``riskft.promoted``, ``riskft.gate_reason``
- what the gate compared with, when there was a champion: ``riskft.gate.champion_version``,
  ``riskft.gate.champion_reevaluated`` (``true`` when the champion, measured on another test split, was evaluated
  again on this version's), ``riskft.gate.champion_value`` (the champion's metric used in the comparison),
  ``riskft.gate.compared_on_test_sha256`` (the split both were measured on; absent when not comparable),
  ``riskft.gate.reevaluation_error`` (why the champion could not be re-evaluated)
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from riskft_pipeline import paths
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.tracking.client import get_client, guard, is_missing, resolve_tracking_uri

STATUS = "riskft.status"
FILE_PREFIX = "riskft.file."
GATE_PREFIX = "riskft.gate."
RECIPE_ARTIFACT = "recipe/recipe.json"
ARTIFACT_PATH_PREFIX = "artifact:"  # a recorded file that lives in the version's model artifacts, not on a disk


# --- git ---------------------------------------------------------------------------------------------------------


def git_state(root: str | Path | None = None) -> dict[str, Any]:
    """``{"commit": sha | None, "dirty": bool | None}`` of the code checkout; None where git cannot say
    (no git binary, not a repository, no commit yet). Ignored files (``.riskft/``) do not count as dirty."""
    cwd = Path(root) if root is not None else paths.repo_root()
    commit = _git(cwd, "rev-parse", "--verify", "--quiet", "HEAD")
    status = _git(cwd, "status", "--porcelain", "--untracked-files=normal")
    return {"commit": commit or None, "dirty": None if status is None else bool(status)}


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


# --- writing: caller's lineage -> tags ---------------------------------------------------------------------------


def recorded_files(lineage: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{role: {"path", "sha256"}}`` for the input, each split and any extra ``files``.

    Each entry may be a path (hashed now) or ``{"path", "sha256"}`` (hash as recorded when the file was written,
    which is what an auditor must compare with; the path is made absolute).
    """
    entries: dict[str, Any] = {}
    if lineage.get("input") is not None:
        entries["input"] = lineage["input"]
    for name, entry in (lineage.get("splits") or {}).items():
        entries[f"split.{name}"] = entry
    entries.update(lineage.get("files") or {})
    return {role: _file_entry(role, entry) for role, entry in entries.items()}


def _file_entry(role: str, entry: Any) -> dict[str, str]:
    if isinstance(entry, (str, Path)):
        entry = {"path": entry}
    if not isinstance(entry, Mapping) or not (entry.get("path") or entry.get("sha256")):
        raise InputError(f"lineage {role!r}: expected a path or {{'path', 'sha256'}}, got {entry!r}")
    path = str(entry.get("path") or "")
    if path.startswith(ARTIFACT_PATH_PREFIX):
        if not entry.get("sha256"):
            raise InputError(f"lineage {role!r}: a model artifact ({path}) needs its sha256")
        return {"path": path, "sha256": str(entry["sha256"])}
    path = str(Path(path).expanduser().resolve()) if path else ""
    sha = entry.get("sha256")
    if not sha:
        if not path or not Path(path).is_file():
            raise InputError(f"lineage {role!r}: cannot hash {path or '(no path)'}: no such file")
        sha = sha256_file(path)
    return {"path": path, "sha256": str(sha)}


def lineage_tags(lineage: Mapping[str, Any], files: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Version tags for the files, the split the metric was measured on, Dagster ids and the git state."""
    tags: dict[str, str] = {}
    for role, entry in files.items():
        tags[f"{FILE_PREFIX}{role}.path"] = entry["path"]
        tags[f"{FILE_PREFIX}{role}.sha256"] = entry["sha256"]
    test_name = lineage.get("test_split", "test")
    test = files.get(f"split.{test_name}")
    if test is not None:
        tags["riskft.test_split.name"] = test_name
        tags["riskft.test_split.sha256"] = test["sha256"]
    if lineage.get("dagster_run_id"):
        tags["riskft.dagster_run_id"] = str(lineage["dagster_run_id"])
    for asset, version in (lineage.get("data_versions") or {}).items():
        tags[f"riskft.data_version.{asset}"] = str(version)
    tags.update(git_tags())
    return tags


def git_tags() -> dict[str, str]:
    """``riskft.git.commit`` and ``riskft.git.dirty`` (``unknown`` where git cannot say)."""
    git = git_state()
    return {"riskft.git.commit": git["commit"] or "unknown",
            "riskft.git.dirty": "unknown" if git["dirty"] is None else str(git["dirty"]).lower()}


def base_model_tags(adapter_meta: Mapping[str, Any]) -> dict[str, str]:
    """Identity of the base the adapter was trained on, from ``riskft_adapter.json``."""
    base = adapter_meta.get("base_model") or {}
    identity = base.get("identity", base) if isinstance(base, Mapping) else {"name": str(base)}
    return {
        "riskft.base_model.name": str(identity.get("name", "unknown")),
        "riskft.base_model.identity": json.dumps(identity, sort_keys=True, default=str),
        "riskft.base_model.weights_sha256": str(identity.get("weights_sha256", "unknown")),
    }


# --- reading: registry -> lineage --------------------------------------------------------------------------------


def get_lineage(model_name: str, version_or_alias: str, *, tracking_uri: str | None = None) -> dict[str, Any]:
    """Everything recorded about one version, from the MLflow registry and its run (no local files needed).

    ``version_or_alias``: ``"3"``, ``"@champion"`` or ``"champion"``. An unknown model, version or alias raises
    :class:`InputError`; an unreachable store raises :class:`TrackingError`.
    """
    uri = resolve_tracking_uri(tracking_uri)
    client = get_client(uri)
    with guard(uri, f"reading the lineage of {model_name} {version_or_alias}"):
        mv = _find_version(client, model_name, version_or_alias)
        run = client.get_run(mv.run_id) if mv.run_id else None
        recipe = _load_recipe(mv.run_id) if run is not None else None
    return _assemble(mv, run, recipe, version_or_alias)


def _find_version(client, model_name: str, ref: str):
    ref = str(ref).strip()
    try:
        if ref.isdigit():
            return client.get_model_version(model_name, ref)
        return client.get_model_version_by_alias(model_name, ref.removeprefix("@"))
    except MlflowException as exc:
        if is_missing(exc):
            what = f"version {ref}" if ref.isdigit() else f"alias {ref if ref.startswith('@') else '@' + ref}"
            raise InputError(f"registered model {model_name!r} has no {what}") from None
        raise


def _load_recipe(run_id: str) -> dict | None:
    import mlflow.artifacts

    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{RECIPE_ARTIFACT}")
    except (MlflowException, FileNotFoundError) as exc:  # a missing artifact reads as None; a dead store raises
        if isinstance(exc, FileNotFoundError) or is_missing(exc):
            return None
        raise


def _assemble(mv, run, recipe: dict | None, ref: str) -> dict[str, Any]:
    tags = dict(mv.tags or {})
    params = dict(run.data.params) if run is not None else {}
    metrics = dict(run.data.metrics) if run is not None else {}
    return {
        "model_name": mv.name,
        "version": str(mv.version),
        "requested": ref,
        "aliases": sorted(getattr(mv, "aliases", []) or []),
        "status": tags.get(STATUS, "unknown"),
        "mlflow_run_id": mv.run_id,
        "experiment_id": run.info.experiment_id if run is not None else None,
        "model_uri": f"models:/{mv.name}/{mv.version}",
        "source": mv.source,
        "created": mv.creation_timestamp,
        "task": tags.get("riskft.task"),
        "dagster_run_id": tags.get("riskft.dagster_run_id"),
        "data_versions": _strip(tags, "riskft.data_version."),
        "files": _files(tags),
        "test_split": {"name": tags.get("riskft.test_split.name"), "sha256": tags.get("riskft.test_split.sha256")},
        "git": {"commit": tags.get("riskft.git.commit"), "dirty": tags.get("riskft.git.dirty")},
        "base_model": {
            "name": tags.get("riskft.base_model.name"),
            "identity": _json_or_none(tags.get("riskft.base_model.identity")),
            "weights_sha256": tags.get("riskft.base_model.weights_sha256"),
        },
        "recipe_hash": tags.get("riskft.recipe_hash"),
        "recipe": recipe,
        "seed": params.get("seed"),
        "library_versions": {k.removeprefix("lib."): v for k, v in sorted(params.items()) if k.startswith("lib.")},
        "evaluation": _evaluation(tags, metrics),
        "gate": {"promoted": tags.get("riskft.promoted"), "reason": tags.get("riskft.gate_reason"),
                 "comparison": _strip(tags, GATE_PREFIX)},
    }


def _strip(tags: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {k.removeprefix(prefix): v for k, v in sorted(tags.items()) if k.startswith(prefix)}


def _files(tags: Mapping[str, str]) -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = {}
    for key, value in _strip(tags, FILE_PREFIX).items():
        role, _, attr = key.rpartition(".")
        files.setdefault(role, {})[attr] = value
    return files


def _json_or_none(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _evaluation(tags: Mapping[str, str], metrics: Mapping[str, float]) -> dict[str, Any]:
    """Primary metric as recorded at registration, plus headline metrics: the report's top-level numbers and the
    model's own scores (``fields.<f>.model.<m>``, ``methods.model.<m>``), not the baselines or the loss curve."""
    value = tags.get("riskft.primary_metric.value")
    headline = {k: v for k, v in sorted(metrics.items())
                if ("." not in k and "/" not in k) or ".model." in f".{k}"}
    return {
        "primary_metric": {"name": tags.get("riskft.primary_metric.name"),
                           "value": float(value) if value not in (None, "") else None},
        "valid_json_rate": _float_or_none(tags.get("riskft.valid_json_rate")),
        "headline": headline,
    }


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


# --- verification ------------------------------------------------------------------------------------------------


def verify_lineage(lineage: Mapping[str, Any], *, base_model: bool = True) -> list[dict[str, str | None]]:
    """Re-hash every recorded file: ``[{role, path, expected, actual, status}]`` with status ``ok``, ``mismatch``
    or ``missing`` (the file is gone: nothing to compare, not a failure by itself). Files recorded as model
    artifacts (``artifact:…``: the adapter weights, the predictor's files) are read from the version's artifacts in
    the registry (``lineage["model_uri"]``). With ``base_model``, the base model's weights are re-hashed too (role
    ``base_model``, :func:`verify_base_model`)."""
    results = []
    for role, entry in sorted((lineage.get("files") or {}).items()):
        path, expected = entry.get("path") or "", entry.get("sha256")
        if path.startswith(ARTIFACT_PATH_PREFIX):
            actual = _artifact_sha256(lineage.get("model_uri"), path.removeprefix(ARTIFACT_PATH_PREFIX))
        elif path and Path(path).is_file():
            actual = sha256_file(path)
        else:
            actual = None
        if actual is None:
            results.append({"role": role, "path": path, "expected": expected, "actual": None, "status": "missing"})
            continue
        status = "ok" if actual == expected else "mismatch"
        results.append({"role": role, "path": path, "expected": expected, "actual": actual, "status": status})
    if base_model:
        results.append(verify_base_model(lineage.get("base_model") or {}))
    return results


BASE_MODEL_ROLE = "base_model"


def base_model_folder(identity: Mapping[str, Any] | None) -> Path | None:
    """The local folder that holds the recorded base model's weights, where this machine has one: the folder a
    recipe named (``source: local``), the converted offline default in the model cache (``source: gguf``, keyed
    by the GGUF's sha256), or the Hugging Face cache snapshot (``source: hub``, never downloaded). None otherwise."""
    from riskft_pipeline.training.base_model import CACHE_PREFIX

    identity = identity or {}
    source = identity.get("source")
    if source == "local" and identity.get("path"):
        folder = Path(identity["path"])
    elif source == "gguf" and identity.get("sha256"):
        folder = paths.model_cache_dir() / f"{CACHE_PREFIX}-{str(identity['sha256'])[:16]}"
    elif source == "hub" and identity.get("name"):
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(identity["name"], revision=identity.get("revision"),
                                            local_files_only=True))
        except Exception:  # noqa: BLE001 - not in the local cache (or no hub library): nothing to re-hash
            return None
    else:
        return None
    return folder if folder.is_dir() and any(folder.glob("*.safetensors")) else None


def verify_base_model(base: Mapping[str, Any]) -> dict[str, str | None]:
    """Re-hash the base model's local weights (every byte, :func:`~riskft_pipeline.training.base_model.
    weights_sha256` without its memo) against the recorded ``weights_sha256``; status ``absent`` when this machine
    has no copy of that base model (nothing to compare, not a failure)."""
    from riskft_pipeline.training.base_model import weights_sha256

    expected = base.get("weights_sha256")
    folder = base_model_folder(base.get("identity") if isinstance(base.get("identity"), Mapping) else None)
    entry = {"role": BASE_MODEL_ROLE, "path": str(folder) if folder else f"{base.get('name') or 'unknown'} "
             "(no local copy)", "expected": expected, "actual": None, "status": "absent"}
    if folder is None:
        return entry
    actual = weights_sha256(folder, memo=False)
    return {**entry, "actual": actual, "status": "ok" if actual == expected else "mismatch"}


def _artifact_sha256(model_uri: str | None, relative: str) -> str | None:
    """sha256 of ``<model_uri>/artifacts/<relative>`` as stored in the registry; None when it cannot be read."""
    import tempfile

    import mlflow.artifacts

    if not model_uri:
        return None
    with tempfile.TemporaryDirectory(prefix="riskft-verify-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=f"{model_uri}/artifacts/{relative}",
                                                        dst_path=tmp)
        except (MlflowException, OSError):
            return None
        return sha256_file(local) if Path(local).is_file() else None


def has_mismatch(verification: list[Mapping[str, Any]]) -> bool:
    """True when a file that still exists no longer has its recorded hash (what ``--verify`` fails on)."""
    return any(r["status"] == "mismatch" for r in verification)


# --- text --------------------------------------------------------------------------------------------------------


def format_lineage_text(lineage: Mapping[str, Any], verification: list[Mapping[str, Any]] | None = None) -> str:
    """A human-readable report of :func:`get_lineage` (and of :func:`verify_lineage` when given)."""
    aliases = f" ({', '.join('@' + a for a in lineage['aliases'])})" if lineage["aliases"] else ""
    lines = [f"{lineage['model_name']} version {lineage['version']}{aliases}  status: {lineage['status']}"]
    lines += _section("Runs", [("MLflow run", lineage["mlflow_run_id"]),
                               ("Dagster run", lineage["dagster_run_id"] or "(not run from Dagster)"),
                               ("model uri", lineage["model_uri"])])
    lines += _section("Data", [(role, f"{e.get('sha256')}  {e.get('path', '')}")
                               for role, e in sorted(lineage["files"].items())])
    lines += _section("Code", [("git commit", lineage["git"]["commit"]), ("dirty tree", lineage["git"]["dirty"])])
    base = lineage["base_model"]
    lines += _section("Base model", [("name", base["name"]), ("weights sha256", base["weights_sha256"]),
                                     ("identity", json.dumps(base["identity"], sort_keys=True))])
    recipe = lineage.get("recipe") or {}
    lines += _section("Recipe", [("name", recipe.get("name", "(artifact missing)")),
                                 ("hash", lineage["recipe_hash"]), ("seed", lineage["seed"]),
                                 ("content", json.dumps(recipe, sort_keys=True) if recipe else None)])
    lines += _section("Libraries", list(lineage["library_versions"].items()))
    lines += _section("Evaluation", _evaluation_rows(lineage))
    if verification is not None:
        lines += _section("Verification", [(r["role"], _verdict(r)) for r in verification] or [("files", "none")])
    return "\n".join(lines) + "\n"


def _evaluation_rows(lineage: Mapping[str, Any]) -> list[tuple[str, Any]]:
    ev = lineage["evaluation"]
    pm = ev["primary_metric"]
    rows = [("primary metric", f"{pm['name']} = {pm['value']}"),
            ("test split sha256", lineage["test_split"]["sha256"]),
            ("valid JSON rate", ev["valid_json_rate"]),
            ("promoted", f"{lineage['gate']['promoted']}: {lineage['gate']['reason']}")]
    rows += [(f"gate {k}", v) for k, v in (lineage["gate"].get("comparison") or {}).items()]
    return rows + [(k, round(v, 4)) for k, v in ev["headline"].items()]


def _verdict(result: Mapping[str, Any]) -> str:
    if result["status"] == "mismatch":
        return f"MISMATCH {result['path']} (expected {result['expected']}, now {result['actual']})"
    if result["status"] == "missing":
        return f"missing  {result['path']} (not checked)"
    if result["status"] == "absent":
        return f"absent   {result['path']} (not checked)"
    return f"ok       {result['path']}"


def _section(title: str, rows: list[tuple[str, Any]]) -> list[str]:
    width = max((len(k) for k, _ in rows), default=0)
    return ["", f"{title}:"] + [f"  {k:<{width}}  {'-' if v is None else v}" for k, v in rows]
