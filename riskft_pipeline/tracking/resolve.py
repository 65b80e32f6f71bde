"""Turn ``models:/name@alias`` or ``models:/name/3`` into a concrete version and its files on disk.

Enrichment loads the registered version's artifacts itself (the adapter, the risk context and the shipped predictor's
other part, ``predictor/``) rather than a pyfunc; the pyfunc runs the same prediction functions on the same files. The alias is resolved once,
here, so every enriched row can record the exact version that produced it.

Downloads are cached under ``.riskft/models/registry/<name>/<version>-<run id>/``: a version's artifacts never
change, and the run id in the folder name keeps a version number reused after a deletion from reading stale files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from riskft_pipeline import paths
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_dir
from riskft_pipeline.tracking.client import get_client, guard, is_missing, resolve_tracking_uri

_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")


@dataclass(frozen=True)
class ModelFiles:
    """A registered version, resolved: what to record (``uri``) and where its files are."""

    name: str
    version: str
    uri: str  # models:/name/version, never an alias
    adapter_dir: Path
    context_dir: Path | None  # the risk model's history_stats.json + tier_definition.json
    task: str | None
    predictor_dir: Path | None = None  # predictor.json (+ the ticket model's train.jsonl): the shipped predictor


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``(name, version, alias)``; exactly one of version/alias is set."""
    m = _MODEL_URI.match(uri.strip())
    if not m:
        raise InputError(f"not a registered-model URI: {uri!r} (expected models:/NAME@ALIAS or models:/NAME/VERSION)")
    return m["name"], m["version"], m["alias"]


def fetch_model(model_uri: str, *, tracking_uri: str | None = None) -> ModelFiles:
    """Resolve ``model_uri`` in the registry and download its artifacts (once per version)."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    name, version, alias = parse_model_uri(model_uri)
    uri = resolve_tracking_uri(tracking_uri)
    client = get_client(uri)
    with guard(uri, f"resolving {model_uri}"):
        try:
            mv = client.get_model_version(name, version) if version else client.get_model_version_by_alias(name,
                                                                                                          alias)
        except MlflowException as exc:
            if is_missing(exc):
                what = f"version {version}" if version else f"alias @{alias}"
                raise InputError(f"registered model {name!r} has no {what} (train and register one first: "
                                 "`make run`)") from None
            raise
        folder = paths.model_cache_dir() / "registry" / name / f"{mv.version}-{(mv.run_id or 'norun')[:12]}"
        if not (folder / "MLmodel").is_file():
            with atomic_dir(folder) as tmp:
                mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(tmp))
                if not (Path(tmp) / "MLmodel").is_file():  # a local store "downloads" a deleted folder as nothing
                    raise InputError(f"{name} version {mv.version}: its files are missing from the artifact store "
                                     f"(run {mv.run_id} deleted or its artifacts removed)")
    adapter = folder / "artifacts" / "adapter"
    if not adapter.is_dir():
        raise InputError(f"{name} version {mv.version} has no adapter artifact (not registered by riskft?)")
    context = folder / "artifacts" / "risk_context"
    predictor = folder / "artifacts" / "predictor"
    return ModelFiles(name=name, version=str(mv.version), uri=f"models:/{name}/{mv.version}", adapter_dir=adapter,
                      context_dir=context if context.is_dir() else None, task=(mv.tags or {}).get("riskft.task"),
                      predictor_dir=predictor if (predictor / "predictor.json").is_file() else None)
