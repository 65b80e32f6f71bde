"""Register an adapter as a model version and move the ``champion`` alias only when it is better on the same split.

Order of operations (what makes a failure safe):

1. everything that needs no server: read the adapter's ``riskft_adapter.json``, the primary metric, hash the files;
2. when the current champion was measured on another test split and the caller passed ``reevaluate``: fetch the
   champion's adapter from the registry and evaluate it on the candidate's test split (:func:`reevaluate_champion`);
   a champion that cannot be fetched or evaluated is recorded as such, never an error;
3. clean up versions of this run left half-made by an earlier failed attempt;
4. log the shipped predictor as a pyfunc model in the run: the adapter (never the base weights) and the files of its
   tabular half (``predictor/``: ``predictor.json`` and, for tickets, the training split; see
   :func:`_task_artifacts`), whose hashes the version's lineage records;
5. create the version with ``riskft.status=registering`` and wait until it is READY with its artifacts listable;
6. under a lock, compare with the current champion (the pure gate, :func:`riskft_pipeline.core.gate.decide`; the
   champion is re-evaluated again here only if it changed since step 2), record the decision on the version (tags,
   description) and the run;
7. tag ``riskft.status=ready``; then, last, move the alias.

If anything fails once the version exists (steps 5–7) it is deleted (best effort; when the store itself is gone the
next attempt's step 3 does it) and the error surfaces as :class:`TrackingError`. An alias therefore only ever points at a version
that is READY, complete, and tagged ``ready``. A rerun simply registers again.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry.model_version_status import ModelVersionStatus
from mlflow.exceptions import MlflowException

from riskft_pipeline import paths
from riskft_pipeline.core.adapter_files import read_adapter_meta
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import file_lock, sha256_file
from riskft_pipeline.core.gate import (
    CHAMPION,
    Champion,
    Reevaluate,
    Reevaluation,
    comparison,
    decide,
    json_blocked,
    needs_reevaluation,
    short_sha,
)
from riskft_pipeline.core.tasks import task_spec
from riskft_pipeline.tracking.client import (
    TrackingError,
    configure,
    get_client,
    guard,
    is_already_exists,
    is_missing,
)
from riskft_pipeline.tracking.lineage import (
    ARTIFACT_PATH_PREFIX,
    GATE_PREFIX,
    STATUS,
    base_model_tags,
    lineage_tags,
    recorded_files,
)

log = logging.getLogger(__name__)

MODEL_ARTIFACT = "adapter"  # the pyfunc model's name in the run
ADAPTER_ARTIFACT = "adapter"  # the model artifact folder holding the adapter files (artifacts/adapter/)
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_ROLE = "adapter"  # lineage role of the adapter weights (path ``artifact:adapter/adapter_model.safetensors``)
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


def register_adapter(
    *,
    run_id: str,
    adapter_dir: str | Path,
    report: Mapping[str, Any],
    model_name: str,
    primary_metric: str = "mean_field_accuracy",
    higher_is_better: bool = True,
    lineage: Mapping[str, Any],
    task: str,
    min_valid_json_rate: float = 0.0,
    alias: str = CHAMPION,
    context_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    reevaluate: Reevaluate | None = None,
) -> dict[str, Any]:
    """Register ``adapter_dir`` as a new version of ``model_name`` and apply the champion gate.

    ``lineage``: ``{"input": path | {path, sha256}, "splits": {name: path | {path, sha256}}, "test_split": "test",
    "dagster_run_id": str | None, "data_versions": {asset: version}, "files": {role: ...}}`` (see
    :mod:`riskft_pipeline.tracking.lineage`). ``context_dir`` (risk only): the prepared data folder holding
    ``history_stats.json`` and ``tier_definition.json``, which the model needs to build prompts; by default the
    folder of the recorded test split. ``reevaluate`` (see :data:`Reevaluate`): how to measure the current champion
    on this version's test split when it was measured on another one; without it such a champion is "not comparable"
    and keeps the alias. Returns ``{model_name, version, promoted, reason, previous_champion: {version, value} | None,
    comparison, model_uri, run_id, primary_metric: {name, value}}`` (``comparison``: see :func:`comparison`).
    """
    adapter_dir = Path(adapter_dir)
    meta = read_adapter_meta(adapter_dir)
    if meta.get("task", task) != task:
        raise InputError(f"{adapter_dir} was trained for task {meta['task']!r}, not {task!r}")
    extra = _task_artifacts(task, lineage, context_dir, report)
    metric_name, value = read_primary_metric(report, primary_metric)
    lineage = _with_artifact_files(lineage, extra, adapter_dir)
    tags = _version_tags(meta, report, (metric_name, value), lineage, task, higher_is_better)
    uri = configure(tracking_uri)
    client = get_client(uri)
    test_sha = tags.get("riskft.test_split.sha256")
    rate = _number(report.get("valid_json_rate"))
    with guard(uri, f"registering {model_name}"):
        client.get_run(run_id)  # fails fast (and clearly) when the store is down or the run unknown
        # the (slow) re-evaluation runs before the version exists and outside the gate lock; _finish redoes it
        # under the lock only if the champion changed meanwhile
        early = None
        if reevaluate is not None and not json_blocked(rate, min_valid_json_rate):
            champion = current_champion(client, model_name, alias)
            if needs_reevaluation(test_sha, champion):
                early = reevaluate_champion(champion, model_name=model_name, metric_name=metric_name,
                                            test_sha=test_sha, reevaluate=reevaluate, tracking_uri=uri)
        _delete_stale_versions(client, model_name, run_id)
        model_info = log_adapter_model(run_id, adapter_dir, meta, task, extra)
        _ensure_registered_model(client, model_name, task)
        mv = client.create_model_version(model_name, model_info.model_uri, run_id=run_id, tags=tags,
                                         model_id=model_info.model_id, await_creation_for=120)
        try:
            return _finish(client, mv.version, run_id=run_id, model_name=model_name, alias=alias,
                           metric=(metric_name, value), test_sha=test_sha, tags=tags,
                           higher_is_better=higher_is_better, report=report,
                           min_valid_json_rate=min_valid_json_rate, reevaluate=reevaluate, early=early,
                           tracking_uri=uri)
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
            metric: tuple[str, float], test_sha: str | None, higher_is_better: bool, tags: Mapping[str, str],
            report: Mapping[str, Any], min_valid_json_rate: float, reevaluate: Reevaluate | None = None,
            early: Reevaluation | None = None, tracking_uri: str | None = None) -> dict[str, Any]:
    """Steps 5–7 of the module docstring, for a version that exists."""
    _await_ready(client, model_name, version)
    rate = _number(report.get("valid_json_rate"))
    with _gate_lock():
        champion = current_champion(client, model_name, alias)
        reevaluation = None
        if reevaluate is not None and needs_reevaluation(test_sha, champion) and not json_blocked(
                rate, min_valid_json_rate):
            if early is not None and early.version == champion.version and early.test_sha256 == test_sha:
                reevaluation = early
            else:  # the champion moved while we were evaluating the previous one
                reevaluation = reevaluate_champion(champion, model_name=model_name, metric_name=metric[0],
                                                   test_sha=test_sha, reevaluate=reevaluate,
                                                   tracking_uri=tracking_uri)
        promote, reason = decide(metric, test_sha, champion, higher_is_better=higher_is_better,
                                 valid_json_rate=rate, min_valid_json_rate=min_valid_json_rate, alias=alias,
                                 reevaluation=reevaluation)
        previous = None if champion is None else {"version": champion.version, "value": champion.value}
        compared = comparison(test_sha, champion, reevaluation)
        decision = {"model_name": model_name, "version": str(version), "promoted": promote, "reason": reason,
                    "previous_champion": previous, "primary_metric": {"name": metric[0], "value": metric[1]},
                    "test_split_sha256": test_sha, "alias": alias, "comparison": compared}
        _record_decision(client, run_id, model_name, version, decision, description(decision, report, tags))
        client.set_model_version_tag(model_name, version, STATUS, "ready")
        if promote:
            client.set_registered_model_alias(model_name, alias, version)
    log.info("%s version %s: %s", model_name, version, reason)
    return {"model_name": model_name, "version": str(version), "promoted": promote, "reason": reason,
            "previous_champion": previous, "comparison": compared,
            "model_uri": f"models:/{model_name}/{version}", "run_id": run_id,
            "primary_metric": {"name": metric[0], "value": metric[1]}}


# --- the champion on the candidate's split ------------------------------------------------------------------------


def reevaluate_champion(champion: Champion, *, model_name: str, metric_name: str, test_sha: str | None,
                        reevaluate: Reevaluate, tracking_uri: str | None = None) -> Reevaluation:
    """Fetch ``champion``'s registered adapter and evaluate it with ``reevaluate``. Never raises for an unusable
    champion (artifacts gone, run deleted, evaluation failed, no finite metric): the returned
    :class:`Reevaluation` carries the reason in ``error`` and the gate falls back to its rule for a champion measured
    elsewhere."""
    from riskft_pipeline.tracking.resolve import fetch_model

    def failed(why: str) -> Reevaluation:
        log.warning("%s version %s could not be re-evaluated on test split %s: %s", model_name, champion.version,
                    short_sha(test_sha), why)
        return Reevaluation(champion.version, test_sha, error=why)

    try:
        files = fetch_model(f"models:/{model_name}/{champion.version}", tracking_uri=tracking_uri)
    except Exception as exc:  # noqa: BLE001 - any failure to get the files means "cannot re-evaluate"
        return failed(f"its artifacts could not be fetched ({_one_line(exc)})")
    log.info("re-evaluating %s version %s (@champion) on test split %s", model_name, champion.version,
             short_sha(test_sha))
    try:
        report = reevaluate(files.adapter_dir, champion.version)
    except Exception as exc:  # noqa: BLE001 - a champion that no longer evaluates must not fail the registration
        return failed(f"its evaluation failed ({type(exc).__name__}: {_one_line(exc)})")
    measured_on = (report.get("data") or {}).get("test") if isinstance(report.get("data"), Mapping) else None
    if measured_on and test_sha and measured_on != test_sha:
        return failed(f"it was evaluated on test split {short_sha(measured_on)}, not {short_sha(test_sha)}")
    try:
        _, value = read_primary_metric(report, metric_name)
    except InputError as exc:
        return failed(f"its evaluation gave no usable {metric_name} ({exc})")
    return Reevaluation(champion.version, test_sha, value=value,
                        valid_json_rate=_number(report.get("valid_json_rate")))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:300]


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


def _gate_lock():
    """Serialise read-champion → move-alias between processes sharing this home folder (two runs at once must
    not both promote against the same old champion). Processes on other machines are not covered."""
    return file_lock(paths.mlflow_dir() / "registry.lock")


# --- inputs ------------------------------------------------------------------------------------------------------


TIER_CUTS_FILE = "tier_cuts.json"
PREDICTOR_ARTIFACT = "predictor"
PREDICTOR_FILE = "predictor.json"
TRAIN_SPLIT_FILE = "train.jsonl"
#: lineage roles of the predictor artifact's files (their paths are ``artifact:<artifact>/<file>``)
PREDICTOR_ROLES = {PREDICTOR_FILE: "predictor", TRAIN_SPLIT_FILE: "predictor.train"}


def _task_artifacts(task: str, lineage: Mapping[str, Any], context_dir: str | Path | None,
                    report: Mapping[str, Any] | None = None) -> dict[str, list[Path]]:
    """Files besides the adapter that the task's model needs at load time, by artifact name.

    - ``predictor`` (when the report carries the shipped predictor, ``report["predictor"]``): ``predictor.json``,
      and for tickets the training split ``train.jsonl`` the TF-IDF + LR half is refitted from (deterministically)
      at load time; it must be the split the evaluation read (its sha256 is checked against ``report["data"]``).
    - ``risk_context`` (risk): ``history_stats.json`` and ``tier_definition.json`` from the prepared data folder;
      for a report without a predictor (an adapter-only model), also the tier cut points on the adapter score
      (``tier_cuts.json``). With a predictor the cut points are its ``tier_cuts``, on the fused score.
    """
    report = report or {}
    predictor = report.get("predictor")
    artifacts: dict[str, list[Path]] = {}
    if predictor is None and report.get("shipped") not in (None, "model"):
        raise InputError(f"the report's shipped predictor is {report['shipped']!r} but the report carries no "
                         "'predictor' to register with the adapter")
    if predictor is not None:
        artifacts[PREDICTOR_ARTIFACT] = _predictor_files(task, lineage, report)
    context_files = task_spec(task).context_files
    if not context_files:
        return artifacts
    if context_dir is None:
        context_dir = _split_path(lineage, lineage.get("test_split", "test")).parent
    files = [Path(context_dir) / name for name in context_files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InputError(f"risk model context missing: {', '.join(missing)} (written by `riskft risk prepare`)")
    cuts = report.get("tier_cuts")
    if cuts and predictor is None:
        files.append(_staged_json(TIER_CUTS_FILE, dict(cuts)))
    artifacts["risk_context"] = files
    return artifacts


def _split_path(lineage: Mapping[str, Any], name: str) -> Path:
    entry = (lineage.get("splits") or {}).get(name)
    path = entry.get("path") if isinstance(entry, Mapping) else entry
    if not path:
        raise InputError(f"registration needs the {name} split's path in the lineage (or, for risk, context_dir)")
    return Path(path)


def _staged_json(name: str, data: Any) -> Path:
    """``data`` as ``name`` in a fresh temporary folder (a few KB; the OS reaps /tmp)."""
    path = Path(tempfile.mkdtemp(prefix="riskft-artifact-")) / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _predictor_files(task: str, lineage: Mapping[str, Any], report: Mapping[str, Any]) -> list[Path]:
    predictor = report["predictor"]
    kind = predictor.get("kind") if isinstance(predictor, Mapping) else None
    spec = task_spec(task)
    if kind != spec.predictor_kind:
        raise InputError(f"the report's predictor is of kind {kind!r}, not {spec.predictor_kind!r} ({task})")
    files = [_staged_json(PREDICTOR_FILE, dict(predictor))]
    if spec.predictor_ships_train_split:
        train = _split_path(lineage, "train")
        if not train.is_file():
            raise InputError(f"the training split {train} is gone: the ticket predictor's TF-IDF + LR half is "
                             "refitted from it at load time")
        evaluated = (report.get("data") or {}).get("train")
        if evaluated and sha256_file(train) != evaluated:
            raise InputError(f"{train} is not the training split the evaluation read (sha256 {evaluated[:12]}): "
                             "the registered predictor would not reproduce the evaluated one")
        if train.name != TRAIN_SPLIT_FILE:
            staged = Path(tempfile.mkdtemp(prefix="riskft-artifact-")) / TRAIN_SPLIT_FILE
            shutil.copy2(train, staged)
            train = staged
        files.append(train)
    return files


def _with_artifact_files(lineage: Mapping[str, Any], artifacts: Mapping[str, list[Path]],
                         adapter_dir: Path | None = None) -> dict[str, Any]:
    """``lineage`` plus the files logged with the model, each with the sha256 of the bytes logged and an
    ``artifact:`` path that :func:`~riskft_pipeline.tracking.lineage.verify_lineage` re-hashes from the registered
    version: the adapter weights (role ``adapter``: ``adapter_model.safetensors``; any other top-level
    ``*.safetensors`` as ``adapter.<stem>``) and the predictor's files (``predictor`` / ``predictor.train``)."""
    roles = {}
    for f in sorted(adapter_dir.glob("*.safetensors")) if adapter_dir is not None else []:
        role = ADAPTER_ROLE if f.name == ADAPTER_WEIGHTS else f"{ADAPTER_ROLE}.{f.stem}"
        roles[role] = {"path": f"{ARTIFACT_PATH_PREFIX}{ADAPTER_ARTIFACT}/{f.name}", "sha256": sha256_file(f)}
    for f in artifacts.get(PREDICTOR_ARTIFACT) or []:
        roles[PREDICTOR_ROLES[f.name]] = {"path": f"{ARTIFACT_PATH_PREFIX}{PREDICTOR_ARTIFACT}/{f.name}",
                                          "sha256": sha256_file(f)}
    if not roles:
        return dict(lineage)
    return {**lineage, "files": {**(lineage.get("files") or {}), **roles}}


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
    never pickles or checkpoints) and the task's ``extra`` files (the predictor, the risk context) as a pyfunc model
    of the run. The base weights are
    not logged: the model loads them at load time from the identity recorded in ``riskft_adapter.json`` and in the
    model's metadata."""
    from riskft_pipeline.tracking.pyfunc import model_code_path, model_signature, pip_requirements

    code = model_code_path(task)
    eval_cfg = (meta.get("recipe") or {}).get("eval") or {}
    model_config = {k: eval_cfg[k] for k in ("batch_size", "max_new_tokens") if k in eval_cfg}
    metadata = {"riskft": {"task": task, "recipe_hash": meta.get("recipe_hash"),
                           "base_model": (meta.get("base_model") or {})}}
    with tempfile.TemporaryDirectory(prefix="riskft-adapter-") as tmp:
        artifacts = {ADAPTER_ARTIFACT: str(_stage_adapter(adapter_dir, Path(tmp) / ADAPTER_ARTIFACT))}
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
                     decision: Mapping[str, Any], text: str) -> None:
    client.set_model_version_tag(model_name, version, "riskft.promoted", str(decision["promoted"]).lower())
    client.set_model_version_tag(model_name, version, "riskft.gate_reason", decision["reason"])
    for key, value in _comparison_tags(decision.get("comparison")).items():
        client.set_model_version_tag(model_name, version, key, value)
    client.update_model_version(model_name, version, description=text)
    client.set_tag(run_id, "riskft.registered_version", f"{model_name}/{version}")
    client.set_tag(run_id, "riskft.promoted", str(decision["promoted"]).lower())
    client.set_tag(run_id, "riskft.gate_reason", decision["reason"])
    client.log_dict(run_id, dict(decision), "registration/decision.json")


def _comparison_tags(compared: Mapping[str, Any] | None) -> dict[str, str]:
    """``riskft.gate.*`` tags (schema: :mod:`riskft_pipeline.tracking.lineage`)."""
    if not compared:
        return {}
    tags = {f"{GATE_PREFIX}champion_version": str(compared["champion_version"]),
            f"{GATE_PREFIX}champion_reevaluated": str(bool(compared["champion_reevaluated"])).lower()}
    if compared.get("champion_value") is not None:
        tags[f"{GATE_PREFIX}champion_value"] = repr(float(compared["champion_value"]))
    if compared.get("compared_on_test_sha256"):
        tags[f"{GATE_PREFIX}compared_on_test_sha256"] = str(compared["compared_on_test_sha256"])
    error = (compared.get("reevaluation") or {}).get("error")
    if error:
        tags[f"{GATE_PREFIX}reevaluation_error"] = str(error)[:5000]
    return tags


def description(decision: Mapping[str, Any], report: Mapping[str, Any] | None = None,
                tags: Mapping[str, str] | None = None) -> str:
    """The version's description in the registry UI (markdown): the decision and why, the shipped predictor against
    every baseline of the same evaluation (in words when it loses to one), what the champion comparison was, the
    data and the base model."""
    report, tags = report or {}, tags or {}
    pm = decision["primary_metric"]
    verdict = f"promoted to @{decision['alias']}" if decision["promoted"] else f"not promoted to @{decision['alias']}"
    lines = [f"**{decision['model_name']} version {decision['version']}: {verdict}.** Gate: {decision['reason']}.",
             (f"Registered with {pm['name']} = {pm['value']:.4f} on test split sha256 "
              f"{short_sha(decision.get('test_split_sha256'))}.")]
    lines += _baseline_lines(report, pm["name"], bool(decision["promoted"]))
    compared = decision.get("comparison")
    if compared:
        rec = compared["champion_recorded"]
        shown = "none" if rec["value"] is None else f"{rec['value']:.4f}"
        line = (f"@{decision['alias']} was version {compared['champion_version']}, recorded {pm['name']} = {shown} "
                f"on test split sha256 {short_sha(rec['test_split_sha256'])}")
        if compared["champion_reevaluated"]:
            line += (f"; re-evaluated on this version's test split (sha256 "
                     f"{short_sha(compared['compared_on_test_sha256'])}): {compared['champion_value']:.4f}")
        elif (compared.get("reevaluation") or {}).get("error"):
            line += f"; re-evaluation failed: {compared['reevaluation']['error']}"
        lines.append(line + ".")
    lines += _provenance_lines(tags, decision)
    return "\n\n".join(lines)


def _baseline_lines(report: Mapping[str, Any], metric: str, promoted: bool) -> list[str]:
    """The methods of the evaluation side by side, and in words any baseline the shipped predictor loses to."""
    from riskft_pipeline.core.report_summary import baselines_beaten, method_scores

    scores = method_scores(report)
    if not scores:
        return []
    shipped = report.get("shipped", "model")
    order = [shipped] + [m for m in scores if m != shipped]
    rows = [f"| method | {metric} |", "|---|---|"]
    for m in order:
        note = " (shipped)" if m == shipped else " (adapter alone)" if m == "model" else ""
        rows.append(f"| {m}{note} | {'–' if scores[m] is None else f'{scores[m]:.4f}'} |")
    lines = ["\n".join(rows)]
    _, lost = baselines_beaten(report)
    if lost:
        worse = ", ".join(f"{m} ({scores[m]:.4f})" for m in lost)
        why = (" It was promoted all the same because the gate compares a version with the current champion, not "
               "with the baselines." if promoted else "")
        lines.append(f"**Warning: the shipped predictor ({shipped}) loses to the baseline {worse} on {metric}.**"
                     + why)
    elif any(m not in (shipped, "model") for m in scores):
        lines.append(f"The shipped predictor ({shipped}) beats or ties every baseline on {metric}.")
    return lines


def _provenance_lines(tags: Mapping[str, str], decision: Mapping[str, Any]) -> list[str]:
    """Data (input and split hashes) and base model, from the version's own tags."""
    lines = []
    files = {k.removeprefix("riskft.file.").removesuffix(".sha256"): v for k, v in tags.items()
             if k.startswith("riskft.file.") and k.endswith(".sha256")}
    data = [f"{role} {short_sha(sha)}" for role, sha in sorted(files.items())
            if role == "input" or role.startswith("split.")]
    if data:
        lines.append("Data (sha256): " + ", ".join(data) + ".")
    if tags.get("riskft.base_model.name"):
        lines.append(f"Base model: {tags['riskft.base_model.name']} (weights sha256 "
                     f"{short_sha(tags.get('riskft.base_model.weights_sha256'))}); recipe hash "
                     f"{short_sha(tags.get('riskft.recipe_hash'))}.")
    lines.append(f"Full lineage: `riskft lineage {decision['model_name']} {decision['version']} --verify`.")
    return lines


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
