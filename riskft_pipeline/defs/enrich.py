"""Enrichment assets: the files in the incoming folder's ``enrich/`` subfolder, enriched by a registered model.

One ``enriched_<kind>`` asset and ``enrich_<kind>`` job per task (:func:`enrich_asset`, :func:`enrich_job`; the kind
is the task spec's ``enrich_kind``: ``enriched_tickets``, ``enriched_changes``). Each depends (lineage only, no data
loaded) on its task's model-version asset and re-runs by declarative automation when a new version is registered, so
the enriched files follow the champion. The ``enrich_incoming`` sensor below launches them for each new file. The work
is the task's ``enrich`` function (:mod:`riskft_pipeline.enrich`); every output row records the model version used.
"""

import functools
import json
from pathlib import Path

import dagster as dg
from pydantic import Field

from riskft_pipeline import enrich, incoming, paths
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import sha256_file
from riskft_pipeline.core.tasks import TASKS, TaskSpec, UnknownTask, by_enrich_kind
from riskft_pipeline.defs.automation import settle_seconds
from riskft_pipeline.defs.common import md_table, run_dir, user_errors
from riskft_pipeline.defs.resources import MLflowTracking

GROUP = "enrichment"

# Re-enrich when the model-version asset is materialised again; acts only where the automation daemon runs
# (`make ui` / `dagster dev`), never in `make run`.
NEW_MODEL_VERSION = (dg.AutomationCondition.any_deps_updated() & ~dg.AutomationCondition.any_deps_in_progress()
                     & ~dg.AutomationCondition.in_progress())


class EnrichConfig(dg.Config):
    input_path: str = Field(default="", description="one CSV; empty = every matching file in <incoming>/enrich/")
    sha256: str = Field(default="", description="expected content hash (the sensor sets it): a file that changed "
                                                "since it was seen is refused")
    model: str = Field(default="", description="models:/NAME@ALIAS, models:/NAME/N or an adapter folder; "
                                               "empty = the task's @champion")
    batch_size: int = Field(default=0, description="rows per generation batch; 0 = the recipe's eval batch size")
    justify: bool = Field(default=True, description="changes only: generate a justification per change")


def enrich_dir() -> Path:
    return paths.incoming_dir() / incoming.ENRICH


def input_files(config: EnrichConfig, spec: TaskSpec) -> list[Path]:
    """The configured file (its hash checked), else every ``<kind>*.csv`` in ``enrich/``."""
    if not config.input_path:
        folder = enrich_dir()
        return sorted(p for p in folder.glob(spec.enrich_pattern) if p.is_file()) if folder.is_dir() else []
    path = Path(config.input_path)
    if not path.is_file():
        raise dg.Failure(f"{path} not found")
    if config.sha256 and sha256_file(path) != config.sha256:
        raise dg.Failure(f"{path} changed since the sensor saw it (sha256 {config.sha256[:12]}…): not enriched")
    return [path]


def _enrich(context: dg.AssetExecutionContext, config: EnrichConfig, mlflow: MLflowTracking,
            spec: TaskSpec) -> dg.MaterializeResult:
    files = input_files(config, spec)
    out_dir = run_dir(context, spec.enriched_asset)
    if not files:
        return dg.MaterializeResult(metadata={"files": 0, "note": f"no {spec.enrich_pattern} in {enrich_dir()}"})
    with user_errors():
        loaded = enrich.load_model(config.model or spec.champion_uri, tracking_uri=mlflow.resolved_uri())
    options = {name: getattr(config, name) for name in spec.enrich_options}
    summaries = []
    for path in files:
        try:
            summaries.append(spec.enrich(path, out_dir / f"{path.stem}.enriched.csv", loaded=loaded, progress=False,
                                         batch_size=config.batch_size or None, **options))
        except InputError as exc:
            moved = incoming.reject_file(path, str(exc))
            raise dg.Failure(description=f"{path.name}: {exc} (moved to {moved})") from exc
    return dg.MaterializeResult(
        data_version=dg.DataVersion(sha256_of_files([Path(s["output"]) for s in summaries])),
        metadata=_metadata(summaries, loaded, out_dir))


def sha256_of_files(files: list[Path]) -> str:
    from riskft_pipeline.core.files import sha256_bytes

    return sha256_bytes("".join(sha256_file(f) for f in files).encode())


def _metadata(summaries: list[dict], loaded: enrich.LoadedModel, out_dir: Path) -> dict:
    table = [{"file": Path(s["input"]).name, "rows_in": s["rows_in"], "enriched": s["rows_enriched"],
              "quarantined": s["rows_quarantined"], "seconds": s["seconds"]} for s in summaries]
    return {
        "model_uri": loaded.uri, "model_version": loaded.version, "files": md_table(table),
        "rows_enriched": sum(s["rows_enriched"] for s in summaries),
        "rows_quarantined": sum(s["rows_quarantined"] for s in summaries),
        "folder": dg.MetadataValue.path(str(out_dir)),
        **_batch_summaries(summaries),
    }


def _batch_summaries(summaries: list[dict]) -> dict:
    """Each file's markdown batch summary (changes: ``<stem>.summary.md``), shown on the asset's page."""
    texts = [Path(s["summary_md"]).read_text(encoding="utf-8") for s in summaries
             if s.get("summary_md") and Path(s["summary_md"]).is_file()]
    return {"batch_summary": dg.MetadataValue.md("\n\n---\n\n".join(texts))} if texts else {}


@functools.cache
def enrich_asset(spec: TaskSpec) -> dg.AssetsDefinition:
    """``enriched_<kind>``: the files of ``<incoming>/enrich/<kind>*.csv`` enriched by the task's champion."""

    @dg.asset(name=spec.enriched_asset, group_name=GROUP, code_version="1",
              deps=[dg.AssetKey(spec.model_version_asset)], automation_condition=NEW_MODEL_VERSION,
              description=f"New {spec.enrich_kind} from <incoming>/enrich/{spec.enrich_pattern}: "
                          f"{spec.enrich_help}; the model version on every row.")
    def enriched(context: dg.AssetExecutionContext, config: EnrichConfig,
                 mlflow: MLflowTracking) -> dg.MaterializeResult:
        return _enrich(context, config, mlflow, spec)

    return enriched


@functools.cache
def enrich_job(spec: TaskSpec):
    return dg.define_asset_job(
        spec.enrich_job, selection=dg.AssetSelection.assets(spec.enriched_asset),
        description=f"Enrich {spec.enrich_kind} files of <incoming>/enrich/ with the champion {spec.title} model.",
    )


# --- sensor ------------------------------------------------------------------------------------------------------


def _enriching_task(kind: str) -> TaskSpec | None:
    try:
        return by_enrich_kind(kind)
    except UnknownTask:  # e.g. incidents: nothing enriches them
        return None


@dg.sensor(name="enrich_incoming", jobs=[enrich_job(spec) for spec in TASKS.values()], minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="New " + " / ".join(spec.enrich_pattern for spec in TASKS.values()) + " in "
                       "<incoming>/enrich/ are enriched by the champion (one run per file; a content seen before "
                       "triggers nothing).")
def enrich_incoming(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    seen: dict[str, list] = json.loads(context.cursor) if context.cursor else {}
    known = {tuple(v) for v in seen.values()}
    requests = []
    folder = paths.incoming_dir() / incoming.ENRICH
    for path, kind in incoming.find_new_files(folder, min_age_s=settle_seconds()):
        spec = _enriching_task(kind)
        if spec is None or _stamp(path) in known:
            continue
        sha = sha256_file(path)
        if sha not in seen:
            requests.append(dg.RunRequest(
                job_name=spec.enrich_job, run_key=f"{spec.enrich_job}-{sha}",
                tags={"riskft/trigger": "enrich", "riskft/file": path.name},
                run_config={"ops": {spec.enriched_asset: {"config": {"input_path": str(path), "sha256": sha}}}}))
        seen[sha] = list(_stamp(path))
    cursor = json.dumps(seen, sort_keys=True)
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    return dg.SensorResult(skip_reason=f"no new files in {folder}", cursor=cursor)


def _stamp(path: Path) -> tuple[str, int, int]:
    """Name, size and mtime: a file with the same stamp as one hashed before is not hashed again."""
    st = path.stat()
    return (path.name, st.st_size, st.st_mtime_ns)
