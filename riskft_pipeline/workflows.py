"""The steps of both chains as plain functions, shared by the CLI (``riskft train/evaluate/register/run``) and the
Dagster assets, so each asset body stays a few lines and every step runs without Dagster.

A training step writes ``OUT/run.json`` next to ``OUT/adapter/``: which data, recipe and MLflow run made the adapter.
Evaluation and registration read it, so ``riskft register --adapter OUT/adapter --report …`` needs nothing else.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from riskft_pipeline import paths
from riskft_pipeline.core.adapter_files import RUN_INFO, read_adapter_meta, read_run_info
from riskft_pipeline.core.config import Recipe, load_recipe, recipe_dict
from riskft_pipeline.core.errors import InputError
from riskft_pipeline.core.files import atomic_write, sha256_file, write_json
from riskft_pipeline.core.progress import ProgressFn
from riskft_pipeline.core.tasks import RISK, task_spec

SPLITS = ("train", "val", "test")


def default_recipe(task: str) -> Path:
    return paths.configs_dir() / task_spec(task).default_recipe


def resolve_recipe(value: str | Path | None, task: str) -> Path:
    """The recipe file a user named: empty = the task's CPU default; else the path as given when it exists, else the
    file of that name in ``configs/`` when there is one, else the path as given (loading it then says it is missing).
    The one resolver of the CLI, ``riskft run`` and the Dagster run config."""
    if not value:
        return default_recipe(task)
    p = Path(value)
    if not p.exists() and (paths.configs_dir() / p).exists():
        return paths.configs_dir() / p
    return p


def default_input(task: str) -> Path:
    return paths.embedded_data_dir() / task_spec(task).default_input


def new_run_dir(task: str) -> Path:
    """A fresh folder per run, so overlapping runs never share paths."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return paths.runs_dir() / task / f"{stamp}-{uuid.uuid4().hex[:8]}"


# --- prepare ---------------------------------------------------------------------------------------------------


def prepare(task: str, input_path: str | Path, out_dir: str | Path, recipe: Recipe, **options: Any) -> dict:
    """Raw file → validated rows + quarantine → chat JSONL splits and ``summary.json`` in ``out_dir`` (the task's
    ``prepare``; ``riskft tickets prepare`` and ``riskft risk prepare`` both come here). ``options``: the task's own
    split options (tickets: ``val_fraction``, ``test_fraction``, ``seed``)."""
    return task_spec(task).prepare(Path(input_path), out_dir, recipe, **options)


# --- train -----------------------------------------------------------------------------------------------------


def train(recipe_path: str | Path, data_dir: Path, out_dir: Path, *, track: bool = True,
          tracking_uri: str | None = None, tags: dict[str, Any] | None = None,
          input_path: str | Path | None = None, progress: bool = True,
          on_step: Callable[[int, int], None] | None = None, log_callbacks: Sequence[Callable] = ()) -> dict:
    """Fine-tune per recipe on ``data_dir``; with ``track`` one MLflow run receives params, the loss curve and
    (later) the evaluation. Returns the trainer's result plus ``mlflow_run_id``. ``on_step(step, max_steps)`` and
    ``log_callbacks`` (``cb(step, logs)``) let a caller show progress (the Dagster asset logs it to its run)."""
    from riskft_pipeline.training.sft import train as sft_train

    recipe_path = Path(recipe_path)
    recipe = load_recipe(recipe_path)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    _require_splits(data_dir)
    run = None
    callbacks = list(log_callbacks)
    if track:
        from riskft_pipeline.tracking.runs import metrics_callback, start_training_run

        run_tags = {"riskft.data_dir": str(data_dir), **_data_tags(data_dir), **(tags or {})}
        run = start_training_run(task_spec(recipe.task).experiment, f"{recipe.name}-{out_dir.name}", recipe=recipe,
                                 tags=run_tags, recipe_path=recipe_path, tracking_uri=tracking_uri)
        callbacks.append(metrics_callback(run.run_id, run.tracking_uri))
    try:
        result = sft_train(recipe, data_dir, out_dir, callbacks=callbacks, progress=progress, on_step=on_step)
    except BaseException:
        if run is not None:
            run.end("FAILED")
        raise
    info = {
        "task": recipe.task,
        "recipe_path": str(recipe_path.resolve()),
        "data_dir": str(data_dir.resolve()),
        "input_path": str(Path(input_path).resolve()) if input_path else None,
        "mlflow_run_id": run.run_id if run else None,
        "tracking_uri": run.tracking_uri if run else None,
    }
    write_json(out_dir / RUN_INFO, info)
    if run is not None:
        from riskft_pipeline.tracking.runs import log_metrics

        log_metrics(run.run_id, {f"train/{k}": v for k, v in result.items() if _is_number(v)},
                    tracking_uri=run.tracking_uri)
        run.end("FINISHED")
    return {**result, "mlflow_run_id": info["mlflow_run_id"]}


# --- evaluate --------------------------------------------------------------------------------------------------


def evaluate(adapter_dir: Path, data_dir: Path, out_dir: Path, *, recipe_path: str | Path | None = None,
             recipe: Recipe | None = None, progress: bool | ProgressFn = True, log_to_run: bool = True) -> dict:
    """Evaluate on ``data_dir/test.jsonl`` with baselines in the same run; log to the adapter's MLflow run.
    The evaluation settings come from ``recipe``, else ``recipe_path``, else the adapter's own recipe.
    ``progress``: ``True`` prints progress lines to stderr, ``False`` nothing, or a
    :data:`~riskft_pipeline.core.progress.ProgressFn` receives ``(stage, done, total)`` (the Dagster asset passes
    one that logs to the run's event log)."""
    adapter_dir, data_dir, out_dir = Path(adapter_dir), Path(data_dir), Path(out_dir)
    meta = read_adapter_meta(adapter_dir)
    if recipe is None:
        recipe = load_recipe(recipe_path) if recipe_path else Recipe.model_validate(meta["recipe"])
    report = task_spec(recipe.task).evaluate(adapter_dir, data_dir, out_dir, recipe=recipe, progress=progress)
    info = read_run_info(adapter_dir)
    if log_to_run and info.get("mlflow_run_id"):
        from riskft_pipeline.tracking.runs import log_report

        log_report(info["mlflow_run_id"], report, out_dir, tracking_uri=info.get("tracking_uri"))
    return report


# --- register --------------------------------------------------------------------------------------------------


def register(adapter_dir: Path, report: Path | dict, *, run_id: str | None = None,
             dagster_run_id: str | None = None, data_versions: dict | None = None,
             tracking_uri: str | None = None, reevaluate_champion: bool = True,
             reevaluation_dir: str | Path | None = None, progress: bool | ProgressFn = True) -> dict:
    """Register the adapter as a new model version with full lineage; the champion gate decides promotion.

    When the current champion was evaluated on another test split (new data made new splits) and
    ``reevaluate_champion`` is on, the champion's registered adapter is evaluated on this adapter's test split with
    this adapter's recipe (:func:`champion_evaluator`; outputs under ``reevaluation_dir``, by default
    ``champion_reevaluation/`` beside the adapter folder) and the gate compares the two on that split.
    """
    from riskft_pipeline.tracking.registry import register_adapter

    adapter_dir = Path(adapter_dir)
    if not isinstance(report, dict):
        report_path = Path(report)
        if not report_path.is_file():
            raise InputError(f"report not found: {report_path}")
        report = json.loads(report_path.read_text(encoding="utf-8"))
    meta = read_adapter_meta(adapter_dir)
    recipe = Recipe.model_validate(meta["recipe"])
    info = read_run_info(adapter_dir)
    run_id = run_id or info.get("mlflow_run_id")
    if not run_id:
        raise InputError(f"no MLflow run recorded for {adapter_dir}; pass --run-id")
    lineage = build_lineage(info, dagster_run_id=dagster_run_id, data_versions=data_versions)
    reevaluate = None
    if reevaluate_champion:
        out_root = Path(reevaluation_dir) if reevaluation_dir else adapter_dir.parent / "champion_reevaluation"
        reevaluate = champion_evaluator(recipe, Path(info["data_dir"]), out_root, progress=progress)
    return register_adapter(
        run_id=run_id, adapter_dir=adapter_dir, report=report, model_name=recipe.register.model_name,
        primary_metric=recipe.register.primary_metric, lineage=lineage, task=recipe.task,
        min_valid_json_rate=recipe.register.min_valid_json_rate,
        tracking_uri=tracking_uri or info.get("tracking_uri"), reevaluate=reevaluate,
    )


def champion_evaluator(recipe: Recipe, data_dir: Path, out_root: Path, *, progress: bool | ProgressFn = True):
    """``(champion_adapter_dir, version) -> report``: :func:`evaluate` (the eval asset's function) of another
    adapter on ``data_dir``'s test split with ``recipe``'s evaluation settings, so the sampled test rows, batch and
    generation settings are the candidate's. Extras that do not enter the primary metric are skipped: the zero-shot
    baseline (tickets) and the justifications (risk). Nothing is logged to any MLflow run."""
    updates: dict[str, Any] = {"eval": recipe.eval.model_copy(update={"zero_shot_baseline": False})}
    if recipe.risk is not None:
        updates["risk"] = recipe.risk.model_copy(update={"justification": False})
    settings = recipe.model_copy(update=updates)

    def reevaluate(champion_adapter: Path, version: str) -> dict:
        return evaluate(Path(champion_adapter), data_dir, out_root / f"version-{version}", recipe=settings,
                        progress=progress, log_to_run=False)

    return reevaluate


def build_lineage(info: dict, *, dagster_run_id: str | None = None, data_versions: dict | None = None) -> dict:
    """What the registry records about the data: input file and splits, each with path and sha256."""
    data_dir = Path(info["data_dir"])
    summary = _read_summary(data_dir)
    lineage: dict[str, Any] = {
        "splits": {name: {"path": str(data_dir / f"{name}.jsonl"),
                          "sha256": summary.get("split_sha256", {}).get(name)
                          or sha256_file(data_dir / f"{name}.jsonl")} for name in SPLITS},
        "test_split": "test",
        "dagster_run_id": dagster_run_id,
        "data_versions": data_versions or {},
    }
    if summary.get("input_sha256"):
        lineage["input"] = {"path": info.get("input_path") or "", "sha256": summary["input_sha256"]}
    return lineage


# --- the whole chain without Dagster ------------------------------------------------------------------------------


def run_chain(task: str, *, input_path: str | Path | None = None, recipe_path: str | Path | None = None,
              progress: bool = True) -> dict:
    """prepare → train → evaluate → register in a fresh run folder (``riskft run tickets|risk``)."""
    input_path = Path(input_path) if input_path else default_input(task)
    recipe_path = resolve_recipe(recipe_path, task)
    recipe = load_recipe(recipe_path)
    if recipe.task != task:
        raise InputError(f"recipe {recipe_path} is for task {recipe.task!r}, not {task!r}")
    root = new_run_dir(task)
    summary = prepare(task, input_path, root / "data", recipe)
    trained = train(recipe_path, root / "data", root / "train", input_path=input_path, progress=progress)
    adapter = Path(trained["adapter_dir"])
    report = evaluate(adapter, root / "data", root / "eval", progress=progress)
    registration = register(adapter, report)
    return {"run_dir": str(root), "data": {k: summary.get(k) for k in ("raw_rows", "clean_rows",
                                                                       "quarantined_rows", "splits", "examples")
                                           if k in summary},
            "train": {k: trained.get(k) for k in ("steps", "train_runtime_s", "tokens_per_s", "final_loss")},
            "primary_metric": report.get("primary_metric"), "registration": registration}


def risk_study(input_path: str | Path, recipe_path: str | Path, out_dir: str | Path, *,
               max_train_examples: int | None = None, metrics_only: bool = False, track: bool = False,
               progress: bool = True) -> dict:
    """``riskft risk study``: prepare the time-ordered split of one change-metrics CSV, train the recipe on it and
    evaluate model and baselines side by side, all under ``out_dir`` (``data/``, ``adapter/``, ``recipe.yaml``,
    ``report.json``, ``report.md``, ``roc.png``, ``timings.json``). No registration; MLflow only with ``track``."""
    import yaml

    out_dir = Path(out_dir)
    recipe = load_recipe(recipe_path)
    if recipe.task != RISK.name:
        raise InputError(f"recipe {recipe_path} is for task {recipe.task!r}, not {RISK.name!r}")
    if max_train_examples is not None:
        if max_train_examples < 2:
            raise InputError("--max-train-examples must be at least 2")
        recipe = recipe.model_copy(update={"train": recipe.train.model_copy(
            update={"max_train_examples": max_train_examples})})
    if metrics_only:  # the side-by-side of metrics-only vs metrics + commit text
        recipe = recipe.model_copy(update={"risk": recipe.risk.model_copy(update={"include_text": False})})
    out_dir.mkdir(parents=True, exist_ok=True)
    effective = out_dir / "recipe.yaml"
    with atomic_write(effective) as fh:
        yaml.safe_dump(recipe_dict(recipe), fh, sort_keys=False)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    summary = prepare(RISK.name, input_path, out_dir / "data", recipe)
    timings["prepare_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    trained = train(effective, out_dir / "data", out_dir / "train", track=track, input_path=input_path,
                    progress=progress)
    timings["train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = evaluate(Path(trained["adapter_dir"]), out_dir / "data", out_dir, progress=progress, log_to_run=track)
    timings["evaluate_s"] = time.perf_counter() - t0
    write_json(out_dir / "timings.json", {**{k: round(v, 1) for k, v in timings.items()},
                                          "train_steps": trained.get("steps"),
                                          "tokens_per_s": trained.get("tokens_per_s"),
                                          "train_examples": summary.get("examples", {}).get("train")})
    return {"out": str(out_dir), "timings_s": {k: round(v, 1) for k, v in timings.items()},
            "examples": summary.get("examples"), "methods": report.get("methods"),
            "faithful_rate": report.get("faithful_rate"), "tier_bug_rates": report.get("tier_bug_rates")}


# --- helpers ---------------------------------------------------------------------------------------------------


def _require_splits(data_dir: Path) -> None:
    missing = [f"{n}.jsonl" for n in ("train", "val") if not (data_dir / f"{n}.jsonl").is_file()]
    if missing:
        raise InputError(f"{data_dir} lacks {', '.join(missing)}: run `riskft tickets prepare` first")


def _read_summary(data_dir: Path) -> dict:
    p = data_dir / "summary.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def _data_tags(data_dir: Path) -> dict[str, str]:
    summary = _read_summary(data_dir)
    tags = {"riskft.input_sha256": summary.get("input_sha256")}
    tags.update({f"riskft.split_sha256.{k}": v for k, v in summary.get("split_sha256", {}).items()})
    return {k: v for k, v in tags.items() if v}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


__all__ = [
    "build_lineage",
    "champion_evaluator",
    "evaluate",
    "prepare",
    "recipe_dict",
    "register",
    "run_chain",
    "train",
]
