"""Register an adapter as a model version and move the ``champion`` alias only when it is better on the same split.

Order of operations (what makes a failure safe):

1. everything that needs no server: read the adapter's ``riskft_adapter.json``, the primary metric, hash the files;
2. clean up versions of this run left half-made by an earlier failed attempt;
3. log the adapter (adapter only, never the base weights) as a pyfunc model in the run;
4. create the version with ``riskft.status=registering`` and wait until it is READY with its artifacts listable;
5. under a lock, compare with the current champion (:func:`decide`), tag the decision on the version and the run;
6. tag ``riskft.status=ready``; then, last, move the alias.

If anything fails after step 4 the version is deleted (best effort; when the store itself is gone the next attempt's
step 2 does it) and the error surfaces as :class:`TrackingError`. An alias therefore only ever points at a version
that is READY, complete, and tagged ``ready``. A rerun simply registers again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry.model_version_status import ModelVersionStatus
from mlflow.exceptions import MlflowException

from riskft_pipeline import paths
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.tracking.client import (
    TrackingError,
    configure,
    get_client,
    guard,
    is_already_exists,
    is_missing,
)
from riskft_pipeline.tracking.lineage import STATUS, base_model_tags, lineage_tags, recorded_files

log = logging.getLogger(__name__)

ADAPTER_META = "riskft_adapter.json"
CHAMPION = "champion"
MODEL_ARTIFACT = "adapter"
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


@dataclass(frozen=True)
class Champion:
    """What the gate needs to know about the current champion, read from its version tags."""

    version: str
    metric_name: str | None
    value: float | None
    test_sha256: str | None


def register_adapter(
    *,
    run_id: str,
    adapter_dir: str | Path,
    report: Mapping[str, Any],
    model_name: str,
    primary_metric: str = "mean_field_accuracy",
    higher_is_better: bool = True,
    lineage: Mapping[str, Any],
    task: Literal["tickets", "risk"],
    min_valid_json_rate: float = 0.0,
    alias: str = CHAMPION,
    context_dir: str | Path | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    """Register ``adapter_dir`` as a new version of ``model_name`` and apply the champion gate.

    ``lineage``: ``{"input": path | {path, sha256}, "splits": {name: path | {path, sha256}}, "test_split": "test",
    "dagster_run_id": str | None, "data_versions": {asset: version}, "files": {role: ...}}`` (see
    :mod:`riskft_pipeline.tracking.lineage`). ``context_dir`` (risk only): the prepared data folder holding
    ``history_stats.json`` and ``tier_definition.json``, which the model needs to build prompts; by default the
    folder of the recorded test split. Returns ``{model_name, version, promoted, reason,
    previous_champion: {version, value} | None, model_uri, run_id, primary_metric: {name, value}}``.
    """
    adapter_dir = Path(adapter_dir)
    meta = read_adapter_meta(adapter_dir)
    if meta.get("task", task) != task:
        raise InputError(f"{adapter_dir} was trained for task {meta['task']!r}, not {task!r}")
    extra = _task_artifacts(task, lineage, context_dir)
    metric_name, value = read_primary_metric(report, primary_metric)
    tags = _version_tags(meta, report, (metric_name, value), lineage, task, higher_is_better)
    uri = configure(tracking_uri)
    client = get_client(uri)
    with guard(uri, f"registering {model_name}"):
        client.get_run(run_id)  # fails fast (and clearly) when the store is down or the run unknown
        _delete_stale_versions(client, model_name, run_id)
        model_info = log_adapter_model(run_id, adapter_dir, meta, task, extra)
        _ensure_registered_model(client, model_name, task)
        mv = client.create_model_version(model_name, model_info.model_uri, run_id=run_id, tags=tags,
                                         model_id=model_info.model_id, await_creation_for=120)
        try:
            return _finish(client, mv.version, run_id=run_id, model_name=model_name, alias=alias,
                           metric=(metric_name, value), test_sha=tags.get("riskft.test_split.sha256"),
                           higher_is_better=higher_is_better, report=report,
                           min_valid_json_rate=min_valid_json_rate)
        except BaseException:
            _abandon(client, model_name, mv.version)
            raise


def _version_tags(meta: Mapping[str, Any], report: Mapping[str, Any], metric: tuple[str, float],
                  lineage: Mapping[str, Any], task: str, higher_is_better: bool) -> dict[str, str]:
    """Everything the gate and an auditor read back later (schema: :mod:`riskft_pipeline.tracking.lineage`)."""
    tags = {
        STATUS: "registering",
        "riskft.task": task,
        "riskft.recipe_hash": str(meta.get("recipe_hash", "unknown")),
        "riskft.primary_metric.name": metric[0],
        "riskft.primary_metric.value": repr(metric[1]),
        "riskft.primary_metric.higher_is_better": str(higher_is_better).lower(),
        **base_model_tags(meta),
        **lineage_tags(lineage, recorded_files(lineage)),
    }
    if _number(report.get("valid_json_rate")) is not None:
        tags["riskft.valid_json_rate"] = repr(float(report["valid_json_rate"]))
    return tags


def _finish(client: MlflowClient, version: str, *, run_id: str, model_name: str, alias: str,
            metric: tuple[str, float], test_sha: str | None, higher_is_better: bool,
            report: Mapping[str, Any], min_valid_json_rate: float) -> dict[str, Any]:
    """Steps 4–6 of the module docstring, for a version that exists."""
    _await_ready(client, model_name, version)
    with _gate_lock():
        champion = current_champion(client, model_name, alias)
        promote, reason = decide(metric, test_sha, champion, higher_is_better=higher_is_better,
                                 valid_json_rate=_number(report.get("valid_json_rate")),
                                 min_valid_json_rate=min_valid_json_rate, alias=alias)
        previous = None if champion is None else {"version": champion.version, "value": champion.value}
        decision = {"model_name": model_name, "version": str(version), "promoted": promote, "reason": reason,
                    "previous_champion": previous, "primary_metric": {"name": metric[0], "value": metric[1]},
                    "test_split_sha256": test_sha, "alias": alias}
        _record_decision(client, run_id, model_name, version, decision)
        client.set_model_version_tag(model_name, version, STATUS, "ready")
        if promote:
            client.set_registered_model_alias(model_name, alias, version)
    log.info("%s version %s: %s", model_name, version, reason)
    return {"model_name": model_name, "version": str(version), "promoted": promote, "reason": reason,
            "previous_champion": previous, "model_uri": f"models:/{model_name}/{version}", "run_id": run_id,
            "primary_metric": {"name": metric[0], "value": metric[1]}}


# --- the gate ----------------------------------------------------------------------------------------------------


def decide(metric: tuple[str, float], test_sha: str | None, champion: Champion | None, *,
           higher_is_better: bool = True, valid_json_rate: float | None = None,
           min_valid_json_rate: float = 0.0, alias: str = CHAMPION) -> tuple[bool, str]:
    """Promote or not, and why (one sentence). Pure.

    Blocking precondition: the valid-JSON rate reaches ``min_valid_json_rate``. Then: no champion → promote;
    the champion was measured on another test split (different sha256), or on another metric → not comparable here
    (re-evaluating it is the caller's job), not promoted; otherwise promote only when strictly better.
    """
    name, value = metric
    if min_valid_json_rate > 0 and (valid_json_rate is None or valid_json_rate < min_valid_json_rate):
        shown = "missing" if valid_json_rate is None else f"{valid_json_rate:.4f}"
        return False, f"not promoted: valid-JSON rate {shown} is below the required {min_valid_json_rate:.4f}"
    if champion is None:
        return True, f"promoted to @{alias}: no current @{alias} ({name} = {value:.4f})"
    if champion.metric_name != name or champion.value is None:
        return False, (f"not promoted: @{alias} (version {champion.version}) has no recorded {name}; "
                       "not comparable")
    if not test_sha or champion.test_sha256 != test_sha:
        return False, (f"not promoted: @{alias} (version {champion.version}) was measured on a different test split "
                       f"(sha256 {_short(champion.test_sha256)} vs {_short(test_sha)}); not comparable")
    better = value > champion.value if higher_is_better else value < champion.value
    relation = "beats" if better else "does not beat"
    verdict = f"promoted to @{alias}" if better else "not promoted"
    return better, (f"{verdict}: {name} {value:.4f} {relation} @{alias} version {champion.version} "
                    f"({champion.value:.4f}) on the same test split")


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "unknown"


def current_champion(client: MlflowClient, model_name: str, alias: str = CHAMPION) -> Champion | None:
    """The version ``@alias`` points at, with its recorded metric and test split; None if there is none."""
    try:
        mv = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise
    tags = mv.tags or {}
    return Champion(version=str(mv.version), metric_name=tags.get("riskft.primary_metric.name"),
                    value=_number(_float(tags.get("riskft.primary_metric.value"))),
                    test_sha256=tags.get("riskft.test_split.sha256"))


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


@contextlib.contextmanager
def _gate_lock() -> Iterator[None]:
    """Serialise read-champion → move-alias between processes sharing this home folder (two runs at once must
    not both promote against the same old champion). Processes on other machines are not covered."""
    lock = paths.mlflow_dir() / "registry.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- inputs ------------------------------------------------------------------------------------------------------


RISK_CONTEXT_FILES = ("history_stats.json", "tier_definition.json")


def _task_artifacts(task: str, lineage: Mapping[str, Any], context_dir: str | Path | None) -> dict[str, list[Path]]:
    """Files besides the adapter that the task's model needs at load time, by artifact name."""
    if task != "risk":
        return {}
    if context_dir is None:
        test = (lineage.get("splits") or {}).get(lineage.get("test_split", "test"))
        path = test.get("path") if isinstance(test, Mapping) else test
        if not path:
            raise InputError("risk registration needs context_dir (the prepared data folder) or a test split path")
        context_dir = Path(path).parent
    files = [Path(context_dir) / name for name in RISK_CONTEXT_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InputError(f"risk model context missing: {', '.join(missing)} (written by `riskft risk prepare`)")
    return {"risk_context": files}


def read_adapter_meta(adapter_dir: Path) -> dict[str, Any]:
    meta_path = adapter_dir / ADAPTER_META
    if not meta_path.is_file():
        raise InputError(f"{adapter_dir} is not a riskft adapter folder (no {ADAPTER_META})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{meta_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{meta_path}: expected a JSON object")
    return meta


def read_primary_metric(report: Mapping[str, Any], expected: str) -> tuple[str, float]:
    """``report["primary_metric"] = {"name", "value"}`` (both tasks' reports), else the top-level key ``expected``.
    A name other than ``expected`` is a configuration error: the gate would compare different things."""
    pm = report.get("primary_metric")
    if isinstance(pm, Mapping):
        name, value = str(pm.get("name", expected)), _number(pm.get("value"))
    else:
        name, value = expected, _number(report.get(expected))
    if name != expected:
        raise InputError(f"the report's primary metric is {name!r} but registration expects {expected!r}")
    if value is None:
        raise InputError(f"the report has no finite value for the primary metric {expected!r}")
    return name, value


# --- MLflow steps ------------------------------------------------------------------------------------------------


def log_adapter_model(run_id: str, adapter_dir: Path, meta: Mapping[str, Any], task: str,
                      extra: Mapping[str, list[Path]] | None = None):
    """Log the adapter folder (top-level files only: weights, tokenizer, generation config, riskft_adapter.json;
    never pickles or checkpoints) and the task's ``extra`` files as a pyfunc model of the run. The base weights are
    not logged: the model loads them at load time from the identity recorded in ``riskft_adapter.json`` and in the
    model's metadata."""
    from riskft_pipeline.tracking.pyfunc import model_code_path, model_signature, pip_requirements

    code = model_code_path(task)
    eval_cfg = (meta.get("recipe") or {}).get("eval") or {}
    model_config = {k: eval_cfg[k] for k in ("batch_size", "max_new_tokens") if k in eval_cfg}
    metadata = {"riskft": {"task": task, "recipe_hash": meta.get("recipe_hash"),
                           "base_model": (meta.get("base_model") or {})}}
    with tempfile.TemporaryDirectory(prefix="riskft-adapter-") as tmp:
        artifacts = {"adapter": str(_stage_adapter(adapter_dir, Path(tmp) / "adapter"))}
        for name, files in (extra or {}).items():
            (Path(tmp) / name).mkdir()
            for f in files:
                shutil.copy2(f, Path(tmp) / name / f.name)
            artifacts[name] = str(Path(tmp) / name)
        with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
            # an input example would make MLflow load the base model at logging time just to validate it
            warnings.filterwarnings("ignore", message=".*input example was not provided.*")
            return mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=str(code),
                artifacts=artifacts,
                model_config=model_config or None,
                signature=model_signature(task),
                pip_requirements=pip_requirements(),
                metadata=metadata,
            )


def _stage_adapter(adapter_dir: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for path in sorted(adapter_dir.iterdir()):
        if path.is_file() and path.suffix not in _PICKLE_SUFFIXES:
            shutil.copy2(path, dest / path.name)
    if not any(dest.glob("*.safetensors")):
        raise InputError(f"{adapter_dir} holds no *.safetensors adapter weights")
    return dest


def _ensure_registered_model(client: MlflowClient, model_name: str, task: str) -> None:
    try:
        client.create_registered_model(model_name, tags={"riskft.task": task})
    except MlflowException as exc:
        if not is_already_exists(exc):
            raise


def _await_ready(client: MlflowClient, model_name: str, version: str) -> None:
    """READY, and its artifacts can be listed (the MLmodel file and the adapter are there)."""
    mv = client.get_model_version(model_name, version)
    if mv.status != ModelVersionStatus.to_string(ModelVersionStatus.READY):
        raise TrackingError(f"{model_name} version {version} is {mv.status}, not READY: {mv.status_message or ''}")
    listed = {f.path for f in mlflow.artifacts.list_artifacts(artifact_uri=f"models:/{model_name}/{version}")}
    if not {"MLmodel", "artifacts"} <= {Path(p).name for p in listed}:  # artifacts/ holds the adapter
        raise TrackingError(f"{model_name} version {version} is missing its artifacts (found: {sorted(listed)})")


def _record_decision(client: MlflowClient, run_id: str, model_name: str, version: str,
                     decision: Mapping[str, Any]) -> None:
    client.set_model_version_tag(model_name, version, "riskft.promoted", str(decision["promoted"]).lower())
    client.set_model_version_tag(model_name, version, "riskft.gate_reason", decision["reason"])
    client.set_tag(run_id, "riskft.registered_version", f"{model_name}/{version}")
    client.set_tag(run_id, "riskft.promoted", str(decision["promoted"]).lower())
    client.set_tag(run_id, "riskft.gate_reason", decision["reason"])
    client.log_dict(run_id, dict(decision), "registration/decision.json")


def _delete_stale_versions(client: MlflowClient, model_name: str, run_id: str) -> None:
    """Versions of this run whose registration never reached ``ready`` (an earlier attempt died midway)."""
    for mv in client.search_model_versions(f"name = '{model_name}' and run_id = '{run_id}'"):
        if (mv.tags or {}).get(STATUS) != "ready":
            log.warning("deleting %s version %s left half-registered by an earlier attempt", model_name, mv.version)
            client.delete_model_version(model_name, mv.version)


def _abandon(client: MlflowClient, model_name: str, version: str) -> None:
    """Best effort after a failure: delete the version (aliases go with it); if the store cannot be reached, the
    version keeps ``riskft.status=registering`` and no alias, and the next attempt deletes it."""
    try:
        client.delete_model_version(model_name, version)
    except Exception as exc:  # noqa: BLE001 - the original failure is what the caller must see
        log.warning("could not delete half-registered %s version %s: %s", model_name, version, exc)
