"""One MLflow run per training: the recipe as params and artifact, the loss curve, every evaluation metric.

The trainer never imports MLflow: it receives :func:`metrics_callback` as a plain ``cb(step, logs)`` callable.
Later steps (evaluation, registration) may run in other processes, so everything here works from a ``run_id``.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import platform
import re
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Self

import yaml
from mlflow.entities import Metric, Param, RunTag

from riskft_pipeline.core.config import Recipe, recipe_dict, recipe_hash
from riskft_pipeline.tracking.client import (
    TrackingError,
    configure,
    ensure_experiment,
    get_client,
    guard,
    resolve_tracking_uri,
)
from riskft_pipeline.tracking.lineage import RECIPE_ARTIFACT, git_tags

__all__ = [
    "TrackingError",
    "TrainingRun",
    "configure",
    "experiment_id_of",
    "flatten_metrics",
    "library_versions",
    "log_file",
    "log_metrics",
    "log_report",
    "metrics_callback",
    "start_training_run",
]

log = logging.getLogger(__name__)

LIBRARIES = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "dagster", "mlflow", "pandas",
             "numpy", "scikit-learn")
TRAIN_PREFIX = "train/"
PREDICTIONS_SAMPLE_LINES = 50
_BAD_KEY_CHARS = re.compile(r"[^\w.\- /]")
_BATCH = 100  # MLflow's limit on params/tags per log_batch call (metrics allow 1000)


class TrainingRun:
    """An open MLflow run. Use as a context manager: it ends FINISHED, or FAILED if the block raised.

    Only ``run_id`` needs to travel to later steps (evaluation, registration); they log to the run by id, which
    MLflow allows after the run has ended.
    """

    def __init__(self, run_id: str, experiment_id: str, tracking_uri: str) -> None:
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.tracking_uri = tracking_uri

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.end("FAILED" if exc_type else "FINISHED")

    def end(self, status: str = "FINISHED") -> None:
        with guard(self.tracking_uri, f"ending run {self.run_id}"):
            get_client(self.tracking_uri).set_terminated(self.run_id, status=status)

    def __repr__(self) -> str:
        return f"TrainingRun(run_id={self.run_id!r}, experiment_id={self.experiment_id!r})"


def start_training_run(
    experiment: str,
    run_name: str,
    *,
    recipe: Recipe,
    tags: Mapping[str, Any] | None = None,
    recipe_path: str | Path | None = None,
    tracking_uri: str | None = None,
) -> TrainingRun:
    """Create the run and log what defines the experiment: flattened recipe (LoRA config, seed included), library
    versions, git state, and the recipe itself as ``recipe/recipe.json`` + ``recipe/recipe.yaml`` (plus the original
    file when ``recipe_path`` is given). ``tags`` with a None value are dropped."""
    uri = configure(tracking_uri)
    client = get_client(uri)
    with guard(uri, "starting the training run"):
        experiment_id = ensure_experiment(client, experiment, uri)
        run = client.create_run(experiment_id, run_name=run_name, tags=_run_tags(recipe, tags))
        run_id = run.info.run_id
        _log_batch(client, run_id, params=_recipe_params(recipe))
        data = recipe_dict(recipe)
        client.log_dict(run_id, data, RECIPE_ARTIFACT)
        client.log_text(run_id, yaml.safe_dump(data, sort_keys=False), "recipe/recipe.yaml")
        if recipe_path is not None:
            client.log_artifact(run_id, str(recipe_path), "recipe/source")
    return TrainingRun(run_id, experiment_id, uri)


def _run_tags(recipe: Recipe, extra: Mapping[str, Any] | None) -> dict[str, str]:
    tags = {
        "riskft.task": recipe.task,
        "riskft.recipe_name": recipe.name,
        "riskft.recipe_hash": recipe_hash(recipe),
        **git_tags(),
    }
    tags.update({k: str(v) for k, v in (extra or {}).items() if v is not None})
    return tags


def _recipe_params(recipe: Recipe) -> dict[str, str]:
    params = {key: _param_value(v) for key, v in _flatten(recipe_dict(recipe))}
    params["seed"] = str(recipe.train.seed)
    params["recipe_hash"] = recipe_hash(recipe)
    params.update({f"lib.{name}": version for name, version in library_versions().items()})
    return params


def _param_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a trained model (those installed), plus Python's."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _flatten(obj: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested mapping → (dotted key, leaf); lists and scalars are leaves."""
    for key, value in obj.items():
        name = f"{prefix}{_BAD_KEY_CHARS.sub('_', str(key))}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def flatten_metrics(report: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every finite numeric leaf of a nested report, keyed by its dotted path
    (``fields.category.model.accuracy``, ``methods.model.auc``). Booleans, strings, lists and NaN are skipped."""
    return {key: float(v) for key, v in _flatten(report, prefix) if _is_metric(v)}


def _is_metric(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


class MetricsLogger:
    """The ``cb(step, logs)`` the trainer calls. Logs every finite number in ``logs`` as ``train/<key>`` at ``step``.

    A tracking failure must not throw away hours of training: the first failure is logged as a warning, kept in
    ``error``, and later calls become no-ops (each would otherwise wait for the HTTP retries again).
    """

    def __init__(self, run_id: str, tracking_uri: str, prefix: str = TRAIN_PREFIX) -> None:
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.prefix = prefix
        self.error: TrackingError | None = None
        self.logged = 0
        self._client = get_client(tracking_uri)

    def __call__(self, step: int, logs: Mapping[str, Any]) -> None:
        if self.error is not None:
            return
        now = int(time.time() * 1000)
        metrics = [Metric(f"{self.prefix}{_BAD_KEY_CHARS.sub('_', str(k))}", float(v), now, int(step))
                   for k, v in logs.items() if _is_metric(v)]
        if not metrics:
            return
        try:
            with guard(self.tracking_uri, "logging training metrics"):
                self._client.log_batch(self.run_id, metrics=metrics)
            self.logged += len(metrics)
        except TrackingError as exc:
            self.error = exc
            log.warning("training metrics are no longer sent to MLflow: %s", exc)


def metrics_callback(run_id: str, tracking_uri: str | None = None) -> Callable[[int, dict], None]:
    """A plain callable for the trainer (no MLflow import on its side); see :class:`MetricsLogger`."""
    return MetricsLogger(run_id, configure(tracking_uri))


def log_metrics(run_id: str, metrics: Mapping[str, Any], *, step: int = 0,
                tracking_uri: str | None = None) -> int:
    """Log the finite numbers of a flat mapping at ``step`` (other values are skipped); returns how many."""
    uri = resolve_tracking_uri(tracking_uri)
    now = int(time.time() * 1000)
    entities = [Metric(_BAD_KEY_CHARS.sub("_", str(k)), float(v), now, step)
                for k, v in metrics.items() if _is_metric(v)]
    with guard(uri, "logging metrics"):
        client = get_client(uri)
        for i in range(0, len(entities), 1000):
            client.log_batch(run_id, metrics=entities[i : i + 1000])
    return len(entities)


def log_report(
    run_id: str,
    report: Mapping[str, Any],
    out_dir: str | Path | None = None,
    *,
    tracking_uri: str | None = None,
    sample_lines: int = PREDICTIONS_SAMPLE_LINES,
) -> dict[str, Any]:
    """Log every numeric metric of an evaluation report (flattened, see :func:`flatten_metrics`) and its files.

    Artifacts under ``evaluation/``: ``report.json`` (the dict given), ``report.md`` and every PNG found in
    ``out_dir``, and ``predictions_sample.jsonl`` (the first ``sample_lines`` lines of ``predictions.jsonl``; the
    full file stays on disk). Returns ``{"metrics": n, "artifacts": [...]}``.
    """
    uri = resolve_tracking_uri(tracking_uri)
    client = get_client(uri)
    n_metrics = log_metrics(run_id, flatten_metrics(report), tracking_uri=uri)
    artifacts = ["evaluation/report.json"]
    with guard(uri, "logging the evaluation report"):
        client.log_dict(run_id, dict(report), "evaluation/report.json")
        if out_dir is not None:
            artifacts += _log_report_files(client, run_id, Path(out_dir), sample_lines)
    return {"metrics": n_metrics, "artifacts": artifacts}


def _log_report_files(client, run_id: str, out_dir: Path, sample_lines: int) -> list[str]:
    logged = []
    for path in sorted([out_dir / "report.md", *out_dir.rglob("*.png")]):
        if path.is_file():
            rel = path.relative_to(out_dir).parent.as_posix()
            dest = "evaluation" if rel == "." else f"evaluation/{rel}"
            client.log_artifact(run_id, str(path), dest)
            logged.append(f"{dest}/{path.name}")
    predictions = out_dir / "predictions.jsonl"
    if predictions.is_file():
        client.log_text(run_id, _head(predictions, sample_lines), "evaluation/predictions_sample.jsonl")
        logged.append("evaluation/predictions_sample.jsonl")
    return logged


def _head(path: Path, n: int) -> str:
    lines = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(lines) >= n:
                break
            lines.append(line)
    return "".join(lines)


def _log_batch(client, run_id: str, params: Mapping[str, str] | None = None,
               tags: Mapping[str, str] | None = None) -> None:
    """Params/tags in chunks of MLflow's per-call limit."""
    entities = [Param(k, v) for k, v in (params or {}).items()]
    for i in range(0, len(entities), _BATCH):
        client.log_batch(run_id, params=entities[i : i + _BATCH])
    tag_entities = [RunTag(k, v) for k, v in (tags or {}).items()]
    for i in range(0, len(tag_entities), _BATCH):
        client.log_batch(run_id, tags=tag_entities[i : i + _BATCH])


def log_file(run_id: str, path: str | Path, artifact_dir: str, *, tracking_uri: str | None = None) -> str:
    """Log one file (e.g. the loss-curve PNG) under ``artifact_dir`` of the run; returns its artifact path."""
    uri = resolve_tracking_uri(tracking_uri)
    with guard(uri, f"logging {Path(path).name}"):
        get_client(uri).log_artifact(run_id, str(path), artifact_dir)
    return f"{artifact_dir}/{Path(path).name}"


def experiment_id_of(run_id: str, *, tracking_uri: str | None = None) -> str:
    """The experiment a run belongs to (for its page's URL)."""
    uri = resolve_tracking_uri(tracking_uri)
    with guard(uri, f"reading run {run_id}"):
        return get_client(uri).get_run(run_id).info.experiment_id
